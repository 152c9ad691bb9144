package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// CreateFile stores f and its content.
func (s *Store) CreateFile(ctx context.Context, f store.File, content []byte) error {
	if content == nil {
		content = []byte{}
	}
	_, err := s.exec(unbounded(ctx), "create file", `INSERT INTO files(id, tenant_id, purpose, filename, bytes, created, content)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, f.ID, f.TenantID, f.Purpose, f.Filename, f.Bytes, us(f.Created), content)
	return err
}

const fileColumns = `id, tenant_id, purpose, filename, bytes, created`

func scanFile(row pgx.CollectableRow) (store.File, error) {
	var f store.File
	err := row.Scan(&f.ID, &f.TenantID, &f.Purpose, &f.Filename, &f.Bytes, &f.Created)
	f.Created = f.Created.UTC()
	return f, err
}

// one runs a query expected to return exactly one row.
func one[T any](s *Store, ctx context.Context, op string, scan pgx.RowToFunc[T], q string, args ...any) (T, error) {
	var v T
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, _ := c.Query(ctx, q, args...)
		var err error
		v, err = pgx.CollectExactlyOneRow(rows, scan)
		return err
	})
	if err != nil {
		var zero T
		return zero, mapErr(op, err)
	}
	return v, nil
}

// all runs a query and collects its rows.
func all[T any](s *Store, ctx context.Context, op string, scan pgx.RowToFunc[T], q string, args ...any) ([]T, error) {
	var vs []T
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, _ := c.Query(ctx, q, args...)
		var err error
		vs, err = pgx.CollectRows(rows, scan)
		return err
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	if len(vs) == 0 {
		return nil, nil
	}
	return vs, nil
}

// GetFile returns the tenant's file id.
func (s *Store) GetFile(ctx context.Context, tenantID, id string) (store.File, error) {
	return one(s, ctx, "get file", scanFile, `SELECT `+fileColumns+` FROM files WHERE id = $1 AND tenant_id = $2`, id, tenantID)
}

// FileContent returns the content of the tenant's file id.
func (s *Store) FileContent(ctx context.Context, tenantID, id string) ([]byte, error) {
	return one(s, unbounded(ctx), "file content", func(row pgx.CollectableRow) ([]byte, error) {
		b := []byte{}
		err := row.Scan(&b)
		return b, err
	}, `SELECT content FROM files WHERE id = $1 AND tenant_id = $2`, id, tenantID)
}

// ListFiles lists the tenant's files newest first.
func (s *Store) ListFiles(ctx context.Context, tenantID, prefix, purpose, after string, limit int) ([]store.File, error) {
	return all(s, ctx, "list files", scanFile, `SELECT `+fileColumns+` FROM files
		WHERE tenant_id = $1 AND left(id, length($2)) = $2 AND ($3 = '' OR purpose = $3) AND ($4 = '' OR id < $4)
		ORDER BY id DESC LIMIT $5`, tenantID, prefix, purpose, after, limit)
}

// DeleteFile deletes the tenant's file id.
func (s *Store) DeleteFile(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete file", `DELETE FROM files WHERE id = $1 AND tenant_id = $2`, id, tenantID)
}

// CreateBatch stores b.
func (s *Store) CreateBatch(ctx context.Context, b store.Batch) error {
	_, err := s.exec(ctx, "create batch", `INSERT INTO batches(id, tenant_id, key_id, status, created, doc)
		VALUES ($1, $2, $3, $4, $5, $6)`, b.ID, b.TenantID, b.KeyID, b.Status, us(b.Created), string(b.Doc))
	return err
}

const batchColumns = `id, tenant_id, key_id, status, created, doc, lease_until, lease_owner`

func scanBatch(row pgx.CollectableRow) (store.Batch, error) {
	var b store.Batch
	var doc string
	var lease time.Time
	err := row.Scan(&b.ID, &b.TenantID, &b.KeyID, &b.Status, &b.Created, &doc, &lease, &b.LeaseOwner)
	b.Created, b.Doc = b.Created.UTC(), []byte(doc)
	if lease.Unix() > 0 {
		b.LeaseUntil = lease.UTC()
	}
	return b, err
}

// GetBatch returns batch id of the tenant, of any tenant when tenantID is "".
func (s *Store) GetBatch(ctx context.Context, tenantID, id string) (store.Batch, error) {
	return one(s, ctx, "get batch", scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE id = $1 AND ($2 = '' OR tenant_id = $2)`, id, tenantID)
}

// ListBatches lists the tenant's batches newest first.
func (s *Store) ListBatches(ctx context.Context, tenantID, prefix, after string, limit int) ([]store.Batch, error) {
	return all(s, ctx, "list batches", scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE tenant_id = $1 AND left(id, length($2)) = $2 AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4`,
		tenantID, prefix, after, limit)
}

// ListBatchesBefore lists the page before batch before, newest first.
func (s *Store) ListBatchesBefore(ctx context.Context, tenantID, prefix, before string, limit int) ([]store.Batch, error) {
	bs, err := all(s, ctx, "list batches", scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE tenant_id = $1 AND left(id, length($2)) = $2 AND id > $3 ORDER BY id LIMIT $4`,
		tenantID, prefix, before, limit)
	slices.Reverse(bs)
	return bs, err
}

// DeleteBatch deletes the tenant's batch id.
func (s *Store) DeleteBatch(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete batch", `DELETE FROM batches WHERE id = $1 AND tenant_id = $2`, id, tenantID)
}

// UpdateBatch replaces Status and Doc if the status is still from.
func (s *Store) UpdateBatch(ctx context.Context, b store.Batch, from string) error {
	tag, err := s.exec(ctx, "update batch", `UPDATE batches SET status = $1, doc = $2 WHERE id = $3 AND status = $4`,
		b.Status, string(b.Doc), b.ID, from)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.GetBatch(ctx, "", b.ID); err != nil {
			return err
		}
		return fmt.Errorf("postgres: update batch: status is no longer %q: %w", from, store.ErrConflict)
	}
	return nil
}

// UnfinishedBatches lists the batches a worker still owns, oldest first.
func (s *Store) UnfinishedBatches(ctx context.Context) ([]store.Batch, error) {
	return all(s, ctx, "unfinished batches", scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE status IN ($1, $2, $3, $4) ORDER BY id`,
		store.BatchValidating, store.BatchInProgress, store.BatchFinalizing, store.BatchCancelling)
}

// ClaimBatch takes or renews owner's lease on batch id.
func (s *Store) ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	tag, err := s.exec(ctx, "claim batch", `UPDATE batches SET lease_owner = $1, lease_until = $2
		WHERE id = $3 AND (lease_owner = $1 OR lease_until <= $4)`, owner, us(until), id, us(now))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseBatch ends owner's lease on batch id.
func (s *Store) ReleaseBatch(ctx context.Context, id, owner string) error {
	_, err := s.exec(ctx, "release batch", `UPDATE batches SET lease_until = 'epoch' WHERE id = $1 AND lease_owner = $2`, id, owner)
	return err
}

// PutBatchResult stores a line's result; the first write wins.
func (s *Store) PutBatchResult(ctx context.Context, batchID string, r store.BatchResult) error {
	_, err := s.exec(ctx, "put batch result", `INSERT INTO batch_results(batch_id, line, ok, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (batch_id, line) DO NOTHING`, batchID, r.Line, r.OK, r.Data)
	return err
}

// BatchResults calls fn for each result in line order.
func (s *Store) BatchResults(ctx context.Context, batchID string, fn func(store.BatchResult) error) error {
	var fnErr error
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT line, ok, data FROM batch_results WHERE batch_id = $1 ORDER BY line`, batchID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r store.BatchResult
			if err := rows.Scan(&r.Line, &r.OK, &r.Data); err != nil {
				return err
			}
			if fnErr = streamed(ctx, func() error { return fn(r) }); fnErr != nil {
				return nil
			}
		}
		return rows.Err()
	})
	if err != nil {
		return mapErr("batch results", err)
	}
	return fnErr
}

// CountBatchResults counts the stored results.
func (s *Store) CountBatchResults(ctx context.Context, batchID string) (ok, failed int, err error) {
	type counts struct{ ok, failed int }
	c, err := one(s, ctx, "count batch results", func(row pgx.CollectableRow) (counts, error) {
		var c counts
		err := row.Scan(&c.ok, &c.failed)
		return c, err
	}, `SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok) FROM batch_results WHERE batch_id = $1`, batchID)
	return c.ok, c.failed, err
}

// DeleteBatchResults drops a batch's line results.
func (s *Store) DeleteBatchResults(ctx context.Context, batchID string) error {
	_, err := s.exec(ctx, "delete batch results", `DELETE FROM batch_results WHERE batch_id = $1`, batchID)
	return err
}

// DeleteBatchDataBefore deletes old files and old finished batches.
func (s *Store) DeleteBatchDataBefore(ctx context.Context, before time.Time) (files, batches int64, err error) {
	ctx = unbounded(ctx)
	tag, err := s.exec(ctx, "delete old files", `DELETE FROM files WHERE created < $1 AND id NOT IN (
		SELECT doc::jsonb->>'input_file_id' FROM batches
		WHERE status IN ($2, $3, $4, $5) AND doc::jsonb->>'input_file_id' IS NOT NULL)`, us(before),
		store.BatchValidating, store.BatchInProgress, store.BatchFinalizing, store.BatchCancelling)
	if err != nil {
		return 0, 0, err
	}
	files = tag.RowsAffected()
	tag, err = s.exec(ctx, "delete old batches", `DELETE FROM batches WHERE created < $1 AND status NOT IN ($2, $3, $4, $5)`, us(before),
		store.BatchValidating, store.BatchInProgress, store.BatchFinalizing, store.BatchCancelling)
	if err != nil {
		return files, 0, err
	}
	return files, tag.RowsAffected(), nil
}
