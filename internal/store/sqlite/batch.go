package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// CreateFile stores f and its content.
func (s *Store) CreateFile(ctx context.Context, f store.File, content []byte) error {
	if content == nil {
		content = []byte{}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO files(id, tenant_id, purpose, filename, bytes, created_us, content)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, f.ID, f.TenantID, f.Purpose, f.Filename, f.Bytes, micros(f.Created), content)
	if err != nil {
		return mapErr("create file", err)
	}
	return nil
}

const fileColumns = `id, tenant_id, purpose, filename, bytes, created_us`

func scanFile(sc scanner) (store.File, error) {
	var f store.File
	var created int64
	err := sc.Scan(&f.ID, &f.TenantID, &f.Purpose, &f.Filename, &f.Bytes, &created)
	f.Created = fromMicros(created)
	return f, err
}

// GetFile returns the tenant's file id.
func (s *Store) GetFile(ctx context.Context, tenantID, id string) (store.File, error) {
	f, err := scanFile(s.r.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ? AND tenant_id = ?`, id, tenantID))
	if err != nil {
		return store.File{}, mapErr("get file", err)
	}
	return f, nil
}

// FileContent returns the content of the tenant's file id.
func (s *Store) FileContent(ctx context.Context, tenantID, id string) ([]byte, error) {
	var b []byte
	if err := s.r.QueryRowContext(ctx, `SELECT content FROM files WHERE id = ? AND tenant_id = ?`, id, tenantID).Scan(&b); err != nil {
		return nil, mapErr("file content", err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// ListFiles lists the tenant's files newest first.
func (s *Store) ListFiles(ctx context.Context, tenantID, prefix, purpose, after string, limit int) ([]store.File, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+fileColumns+` FROM files
		WHERE tenant_id = ? AND substr(id, 1, ?) = ? AND (? = '' OR purpose = ?) AND (? = '' OR id < ?)
		ORDER BY id DESC LIMIT ?`, tenantID, len(prefix), prefix, purpose, purpose, after, after, limit)
	if err != nil {
		return nil, mapErr("list files", err)
	}
	return collect(rows, "list files", scanFile)
}

// DeleteFile deletes the tenant's file id.
func (s *Store) DeleteFile(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete file", `DELETE FROM files WHERE id = ? AND tenant_id = ?`, id, tenantID)
}

// CreateBatch stores b.
func (s *Store) CreateBatch(ctx context.Context, b store.Batch) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO batches(id, tenant_id, key_id, status, created_us, doc)
		VALUES (?, ?, ?, ?, ?, ?)`, b.ID, b.TenantID, b.KeyID, b.Status, micros(b.Created), string(b.Doc))
	if err != nil {
		return mapErr("create batch", err)
	}
	return nil
}

const batchColumns = `id, tenant_id, key_id, status, created_us, doc, lease_until_us, lease_owner`

func scanBatch(sc scanner) (store.Batch, error) {
	var b store.Batch
	var created, lease int64
	var doc string
	err := sc.Scan(&b.ID, &b.TenantID, &b.KeyID, &b.Status, &created, &doc, &lease, &b.LeaseOwner)
	b.Created, b.Doc = fromMicros(created), []byte(doc)
	if lease > 0 {
		b.LeaseUntil = fromMicros(lease)
	}
	return b, err
}

// GetBatch returns batch id of the tenant, of any tenant when tenantID is "".
func (s *Store) GetBatch(ctx context.Context, tenantID, id string) (store.Batch, error) {
	b, err := scanBatch(s.r.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE id = ? AND (? = '' OR tenant_id = ?)`, id, tenantID, tenantID))
	if err != nil {
		return store.Batch{}, mapErr("get batch", err)
	}
	return b, nil
}

// ListBatches lists the tenant's batches newest first.
func (s *Store) ListBatches(ctx context.Context, tenantID, prefix, after string, limit int) ([]store.Batch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE tenant_id = ? AND substr(id, 1, ?) = ? AND (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`,
		tenantID, len(prefix), prefix, after, after, limit)
	if err != nil {
		return nil, mapErr("list batches", err)
	}
	return collect(rows, "list batches", scanBatch)
}

// ListBatchesBefore lists the page before batch before, newest first.
func (s *Store) ListBatchesBefore(ctx context.Context, tenantID, prefix, before string, limit int) ([]store.Batch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE tenant_id = ? AND substr(id, 1, ?) = ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, len(prefix), prefix, before, limit)
	if err != nil {
		return nil, mapErr("list batches", err)
	}
	bs, err := collect(rows, "list batches", scanBatch)
	slices.Reverse(bs)
	return bs, err
}

// DeleteBatch deletes the tenant's batch id.
func (s *Store) DeleteBatch(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete batch", `DELETE FROM batches WHERE id = ? AND tenant_id = ?`, id, tenantID)
}

// UpdateBatch replaces Status and Doc if the status is still from.
func (s *Store) UpdateBatch(ctx context.Context, b store.Batch, from string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE batches SET status = ?, doc = ? WHERE id = ? AND status = ?`,
		b.Status, string(b.Doc), b.ID, from)
	if err != nil {
		return mapErr("update batch", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetBatch(ctx, "", b.ID); err != nil {
			return err
		}
		return fmt.Errorf("sqlite: update batch: status is no longer %q: %w", from, store.ErrConflict)
	}
	return nil
}

// UnfinishedBatches lists the batches a worker still owns, oldest first.
func (s *Store) UnfinishedBatches(ctx context.Context) ([]store.Batch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE status IN (?, ?, ?, ?) ORDER BY id`,
		store.BatchValidating, store.BatchInProgress, store.BatchFinalizing, store.BatchCancelling)
	if err != nil {
		return nil, mapErr("unfinished batches", err)
	}
	return collect(rows, "unfinished batches", scanBatch)
}

// ClaimBatch takes or renews owner's lease on batch id.
func (s *Store) ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE batches SET lease_owner = ?, lease_until_us = ?
		WHERE id = ? AND (lease_owner = ? OR lease_until_us <= ?)`, owner, micros(until), id, owner, micros(now))
	if err != nil {
		return false, mapErr("claim batch", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseBatch ends owner's lease on batch id.
func (s *Store) ReleaseBatch(ctx context.Context, id, owner string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE batches SET lease_until_us = 0 WHERE id = ? AND lease_owner = ?`, id, owner); err != nil {
		return mapErr("release batch", err)
	}
	return nil
}

// PutBatchResult stores a line's result; the first write wins.
func (s *Store) PutBatchResult(ctx context.Context, batchID string, r store.BatchResult) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO batch_results(batch_id, line, ok, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (batch_id, line) DO NOTHING`, batchID, r.Line, r.OK, r.Data)
	if err != nil {
		return mapErr("put batch result", err)
	}
	return nil
}

// BatchResults calls fn for each result in line order.
func (s *Store) BatchResults(ctx context.Context, batchID string, fn func(store.BatchResult) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT line, ok, data FROM batch_results WHERE batch_id = ? ORDER BY line`, batchID)
	if err != nil {
		return mapErr("batch results", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.BatchResult
		if err := rows.Scan(&r.Line, &r.OK, &r.Data); err != nil {
			return mapErr("batch results", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return mapErr("batch results", err)
	}
	return nil
}

// CountBatchResults counts the stored results.
func (s *Store) CountBatchResults(ctx context.Context, batchID string) (ok, failed int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT coalesce(sum(ok), 0), coalesce(sum(1 - ok), 0) FROM batch_results WHERE batch_id = ?`,
		batchID).Scan(&ok, &failed)
	if err != nil {
		return 0, 0, mapErr("count batch results", err)
	}
	return ok, failed, nil
}

// DeleteBatchResults drops a batch's line results.
func (s *Store) DeleteBatchResults(ctx context.Context, batchID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM batch_results WHERE batch_id = ?`, batchID); err != nil {
		return mapErr("delete batch results", err)
	}
	return nil
}

// DeleteBatchDataBefore deletes old files and old finished batches.
func (s *Store) DeleteBatchDataBefore(ctx context.Context, before time.Time) (files, batches int64, err error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM files WHERE created_us < ? AND id NOT IN (
		SELECT json_extract(doc, '$.input_file_id') FROM batches
		WHERE status IN (?, ?, ?, ?) AND json_extract(doc, '$.input_file_id') IS NOT NULL)`, micros(before),
		store.BatchValidating, store.BatchInProgress, store.BatchFinalizing, store.BatchCancelling)
	if err != nil {
		return 0, 0, mapErr("delete old files", err)
	}
	files, _ = res.RowsAffected()
	res, err = s.w.ExecContext(ctx, `DELETE FROM batches WHERE created_us < ? AND status NOT IN (?, ?, ?, ?)`, micros(before),
		store.BatchValidating, store.BatchInProgress, store.BatchFinalizing, store.BatchCancelling)
	if err != nil {
		return files, 0, mapErr("delete old batches", err)
	}
	batches, _ = res.RowsAffected()
	return files, batches, nil
}

func (s *Store) execOne(ctx context.Context, op, q string, args ...any) error {
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return mapErr(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mapErr(op, sql.ErrNoRows)
	}
	return nil
}

func collect[T any](rows *sql.Rows, op string, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}
