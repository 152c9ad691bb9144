package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// PutPrompt keeps a request's routing text; the first write wins.
func (s *Store) PutPrompt(ctx context.Context, p store.CapturedPrompt) error {
	_, err := s.exec(ctx, "put prompt", `INSERT INTO captured_prompts(request_id, tenant_id, route, text, created)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING`, p.RequestID, p.TenantID, p.Route, p.Text, us(p.Created))
	return err
}

// PutFeedback records a request's quality; see the SQLite store's for who
// may rate what.
func (s *Store) PutFeedback(ctx context.Context, f store.Feedback) error {
	tag, err := s.exec(ctx, "put feedback", `INSERT INTO feedback(request_id, tenant_id, quality, created)
		SELECT $1::text, $2::text, $3::double precision, $4::timestamptz
		WHERE NOT EXISTS (SELECT 1 FROM usage_records WHERE request_id = $1 AND tenant_id <> $2)
		  AND NOT EXISTS (SELECT 1 FROM captured_prompts WHERE request_id = $1 AND tenant_id <> $2)
		ON CONFLICT (request_id, tenant_id) DO UPDATE SET quality = excluded.quality, created = excluded.created`,
		f.RequestID, f.TenantID, f.Quality, us(f.Created))
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return err
}

// TrainingExamples joins captured prompts, feedback and usage records.
func (s *Store) TrainingExamples(ctx context.Context, since time.Time, fn func(store.TrainingExample) error) error {
	var fnErr error
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT p.request_id, p.tenant_id, p.route, p.text, u.deployment, f.quality, u.cost_usd, u.output_tokens, p.created
			FROM captured_prompts p
			JOIN feedback f ON f.request_id = p.request_id AND f.tenant_id = p.tenant_id
			JOIN usage_records u ON u.request_id = p.request_id AND u.tenant_id = p.tenant_id
			WHERE p.created >= $1 ORDER BY p.request_id`, us(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e store.TrainingExample
			if err := rows.Scan(&e.RequestID, &e.TenantID, &e.Route, &e.Text, &e.Deployment, &e.Quality, &e.CostUSD, &e.OutputTokens, &e.Created); err != nil {
				return err
			}
			e.Created = e.Created.UTC()
			if fnErr = streamed(ctx, func() error { return fn(e) }); fnErr != nil {
				return nil
			}
		}
		return rows.Err()
	})
	if err != nil {
		return mapErr("training examples", err)
	}
	return fnErr
}

// DeleteLearningBefore deletes old captured prompts and feedback.
func (s *Store) DeleteLearningBefore(ctx context.Context, before time.Time) (int64, error) {
	ctx = unbounded(ctx)
	var n int64
	for _, table := range []string{"captured_prompts", "feedback"} {
		tag, err := s.exec(ctx, "delete learning data", `DELETE FROM `+table+` WHERE created < $1`, us(before))
		if err != nil {
			return n, err
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// PurgeLearning deletes one tenant's (or every) captured prompts and
// feedback.
func (s *Store) PurgeLearning(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	for _, table := range []string{"captured_prompts", "feedback"} {
		tag, err := s.exec(ctx, "purge learning data", `DELETE FROM `+table+` WHERE $1 = '' OR tenant_id = $1`, tenantID)
		if err != nil {
			return n, err
		}
		n += tag.RowsAffected()
	}
	return n, nil
}
