package store_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func TestNewID(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		re     string
	}{
		{"with prefix", "key", `^key_[a-z2-7]{26}$`},
		{"without prefix", "", `^[a-z2-7]{26}$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			re := regexp.MustCompile(tc.re)
			for range 1000 {
				id := store.NewID(tc.prefix)
				if !re.MatchString(id) {
					t.Fatalf("got %q, want a match for %s", id, tc.re)
				}
				if seen[id] {
					t.Fatalf("got duplicate id %q", id)
				}
				seen[id] = true
			}
		})
	}
}

func TestReadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{name: "ordered by number, not name", files: fstest.MapFS{
			"m/0010_b.sql": {Data: []byte("B")}, "m/0002_a.sql": {Data: []byte("A")}, "m/README": {Data: []byte("x")},
		}, want: []int{2, 10}},
		{name: "bad name", files: fstest.MapFS{"m/init.sql": {}}, wantErr: "NNNN_description.sql"},
		{name: "duplicate version", files: fstest.MapFS{"m/01_a.sql": {}, "m/1_b.sql": {}}, wantErr: "share version 1"},
		{name: "missing dir", files: fstest.MapFS{}, wantErr: "read migrations"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := store.ReadMigrations(tc.files, "m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateQuery(t *testing.T) {
	tests := []struct {
		name  string
		q     store.UsageQuery
		valid bool
	}{
		{"empty", store.UsageQuery{}, true},
		{"all dimensions and an hour", store.UsageQuery{GroupBy: []string{"tenant", "key", "route", "deployment", "model"}, Bucket: time.Hour}, true},
		{"unknown dimension", store.UsageQuery{GroupBy: []string{"tenant_id"}}, false},
		{"fractional bucket", store.UsageQuery{Bucket: 90 * time.Millisecond}, false},
		{"negative bucket", store.UsageQuery{Bucket: -time.Hour}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := store.ValidateQuery(tc.q)
			if tc.valid != (err == nil) || (err != nil && !errors.Is(err, store.ErrInvalid)) {
				t.Errorf("got %v, want valid=%v (else ErrInvalid)", err, tc.valid)
			}
		})
	}
}

func TestSortableIDsKeepCreationOrder(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for range 1000 {
		ids = append(ids, store.NewSortableID("batch_", now)) // one millisecond
	}
	ids = append(ids, store.NewSortableID("batch_", now.Add(time.Millisecond)), store.NewSortableID("batch_", now.Add(time.Hour)))
	if !slices.IsSorted(ids) {
		t.Fatal("IDs made one after another do not sort in that order")
	}
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatal("duplicate IDs")
	}
	if a, b := store.NewSortableID("x", now), store.NewSortableID("x", now.Add(-time.Hour)); b >= a {
		t.Errorf("an ID an hour earlier sorts after: %s >= %s", b, a)
	}
}
