package batch

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

func TestSweepDeletesWhatOutlivedTheRetention(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	retention := 30 * 24 * time.Hour
	for id, created := range map[string]time.Time{
		"file-expired": now.Add(-retention - time.Minute),
		"file-kept":    now.Add(-retention + time.Minute),
	} {
		if err := st.CreateFile(ctx, store.File{ID: id, TenantID: "t", Purpose: PurposeBatch, Created: created}, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if got := fileObj(store.File{Created: now}, retention).ExpiresAt; got == nil || *got != now.Add(retention).Unix() {
		t.Errorf("expires_at: got %v, want created + retention", got)
	}
	if err := Sweep(ctx, st, retention, now, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetFile(ctx, "t", "file-kept"); err != nil {
		t.Errorf("a file inside the retention: %v, want it kept", err)
	}
	if _, err := st.GetFile(ctx, "t", "file-expired"); err == nil {
		t.Errorf("a file past the retention was kept")
	}
}
