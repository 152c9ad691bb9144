package sqlite

import (
	"context"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// PutPrompt keeps a request's routing text; the first write wins.
func (s *Store) PutPrompt(ctx context.Context, p store.CapturedPrompt) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO captured_prompts(request_id, tenant_id, route, text, created_us)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`, p.RequestID, p.TenantID, p.Route, p.Text, micros(p.Created))
	if err != nil {
		return mapErr("put prompt", err)
	}
	return nil
}

// PutFeedback records a request's quality; the tenant's last write wins.
// A request known to be another tenant's (its usage record or captured
// prompt says so) is ErrNotFound. Ratings are kept per request and
// tenant, so one another tenant left before the usage record was written
// takes nothing from the owner's (and joins on the tenant ignore it).
func (s *Store) PutFeedback(ctx context.Context, f store.Feedback) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO feedback(request_id, tenant_id, quality, created_us)
		SELECT ?1, ?2, ?3, ?4
		WHERE NOT EXISTS (SELECT 1 FROM usage_records WHERE request_id = ?1 AND tenant_id <> ?2)
		  AND NOT EXISTS (SELECT 1 FROM captured_prompts WHERE request_id = ?1 AND tenant_id <> ?2)
		ON CONFLICT (request_id, tenant_id) DO UPDATE SET quality = excluded.quality, created_us = excluded.created_us`,
		f.RequestID, f.TenantID, f.Quality, micros(f.Created))
	if err != nil {
		return mapErr("put feedback", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// TrainingExamples joins captured prompts, feedback and usage records.
func (s *Store) TrainingExamples(ctx context.Context, since time.Time, fn func(store.TrainingExample) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT p.request_id, p.tenant_id, p.route, p.text, u.deployment, f.quality, u.cost_usd, u.output_tokens, p.created_us
		FROM captured_prompts p
		JOIN feedback f ON f.request_id = p.request_id AND f.tenant_id = p.tenant_id
		JOIN usage_records u ON u.request_id = p.request_id AND u.tenant_id = p.tenant_id
		WHERE p.created_us >= ? ORDER BY p.request_id`, micros(since))
	if err != nil {
		return mapErr("training examples", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e store.TrainingExample
		var created int64
		if err := rows.Scan(&e.RequestID, &e.TenantID, &e.Route, &e.Text, &e.Deployment, &e.Quality, &e.CostUSD, &e.OutputTokens, &created); err != nil {
			return mapErr("training examples", err)
		}
		e.Created = fromMicros(created)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return mapErr("training examples", err)
	}
	return nil
}

// DeleteLearningBefore deletes old captured prompts and feedback.
func (s *Store) DeleteLearningBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	for _, table := range []string{"captured_prompts", "feedback"} {
		res, err := s.w.ExecContext(ctx, `DELETE FROM `+table+` WHERE created_us < ?`, micros(before))
		if err != nil {
			return n, mapErr("delete learning data", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// PurgeLearning deletes one tenant's (or every) captured prompts and
// feedback.
func (s *Store) PurgeLearning(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	for _, table := range []string{"captured_prompts", "feedback"} {
		res, err := s.w.ExecContext(ctx, `DELETE FROM `+table+` WHERE ? = '' OR tenant_id = ?`, tenantID, tenantID)
		if err != nil {
			return n, mapErr("purge learning data", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
