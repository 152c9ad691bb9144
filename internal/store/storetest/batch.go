package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testFiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	f1 := store.File{ID: store.NewSortableID("file-", base), TenantID: "t1", Purpose: "batch", Filename: "in.jsonl", Bytes: 3, Created: base}
	f2 := store.File{ID: store.NewSortableID("file-", base.Add(time.Second)), TenantID: "t1", Purpose: "batch_output", Filename: "out.jsonl", Bytes: 0, Created: base.Add(time.Second)}
	other := store.File{ID: store.NewSortableID("file-", base.Add(2*time.Second)), TenantID: "t2", Purpose: "batch", Filename: "x", Bytes: 1, Created: base}
	for _, f := range []struct {
		f store.File
		c []byte
	}{{f1, []byte("abc")}, {f2, nil}, {other, []byte("z")}} {
		if err := s.CreateFile(ctx, f.f, f.c); err != nil {
			t.Fatalf("CreateFile(%s): %v", f.f.ID, err)
		}
	}
	if err := s.CreateFile(ctx, f1, []byte("again")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateFile(duplicate): got %v, want ErrConflict", err)
	}
	got, err := s.GetFile(ctx, "t1", f1.ID)
	if err != nil || !cmp.Equal(got, f1) {
		t.Errorf("GetFile: got %+v, %v; want %+v", got, err, f1)
	}
	if _, err := s.GetFile(ctx, "t2", f1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFile(other tenant): got %v, want ErrNotFound", err)
	}
	if c, err := s.FileContent(ctx, "t1", f1.ID); err != nil || string(c) != "abc" {
		t.Errorf("FileContent: got %q, %v", c, err)
	}
	if c, err := s.FileContent(ctx, "t1", f2.ID); err != nil || c == nil || len(c) != 0 {
		t.Errorf("FileContent(empty): got %#v, %v; want empty, non-nil", c, err)
	}
	if _, err := s.FileContent(ctx, "t2", f1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FileContent(other tenant): got %v, want ErrNotFound", err)
	}
	list, err := s.ListFiles(ctx, "t1", "file-", "", "", 10)
	if err != nil || len(list) != 2 || list[0].ID != f2.ID || list[1].ID != f1.ID {
		t.Errorf("ListFiles: got %+v, %v; want f2 then f1", list, err)
	}
	if list, _ := s.ListFiles(ctx, "t1", "", "batch", "", 10); len(list) != 1 || list[0].ID != f1.ID {
		t.Errorf("ListFiles(purpose batch): got %+v, want f1", list)
	}
	if list, _ := s.ListFiles(ctx, "t1", "", "", f2.ID, 10); len(list) != 1 || list[0].ID != f1.ID {
		t.Errorf("ListFiles(after f2): got %+v, want f1", list)
	}
	if list, _ := s.ListFiles(ctx, "t1", "", "", "", 1); len(list) != 1 || list[0].ID != f2.ID {
		t.Errorf("ListFiles(limit 1): got %+v, want f2", list)
	}
	if list, err := s.ListFiles(ctx, "t1", "msgfile-", "", "", 10); err != nil || len(list) != 0 {
		t.Errorf("ListFiles(another prefix): got %+v, %v; want none", list, err)
	}
	if err := s.DeleteFile(ctx, "t2", f1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteFile(other tenant): got %v, want ErrNotFound", err)
	}
	if err := s.DeleteFile(ctx, "t1", f1.ID); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if _, err := s.GetFile(ctx, "t1", f1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFile after delete: got %v, want ErrNotFound", err)
	}
}

func testBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	b1 := store.Batch{ID: store.NewSortableID("batch_", base), TenantID: "t1", KeyID: "k1", Status: store.BatchValidating, Created: base, Doc: []byte(`{"a":1}`)}
	b2 := store.Batch{ID: store.NewSortableID("batch_", base.Add(time.Second)), TenantID: "t1", KeyID: "k1", Status: store.BatchCompleted, Created: base, Doc: []byte(`{"b":2}`)}
	b3 := store.Batch{ID: store.NewSortableID("batch_", base.Add(2*time.Second)), TenantID: "t2", Status: store.BatchCancelling, Created: base, Doc: []byte(`{}`)}
	for _, b := range []store.Batch{b1, b2, b3} {
		if err := s.CreateBatch(ctx, b); err != nil {
			t.Fatalf("CreateBatch: %v", err)
		}
	}
	if got, err := s.GetBatch(ctx, "t1", b1.ID); err != nil || !cmp.Equal(got, b1) {
		t.Errorf("GetBatch: got %+v, %v; want %+v", got, err, b1)
	}
	if got, err := s.GetBatch(ctx, "", b1.ID); err != nil || got.ID != b1.ID {
		t.Errorf("GetBatch(any tenant): got %+v, %v", got, err)
	}
	if _, err := s.GetBatch(ctx, "t2", b1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetBatch(other tenant): got %v, want ErrNotFound", err)
	}
	if list, err := s.ListBatches(ctx, "t1", "batch_", "", 10); err != nil || len(list) != 2 || list[0].ID != b2.ID {
		t.Errorf("ListBatches: got %+v, %v; want b2, b1", list, err)
	}
	if list, _ := s.ListBatches(ctx, "t1", "", b2.ID, 10); len(list) != 1 || list[0].ID != b1.ID {
		t.Errorf("ListBatches(after b2): got %+v, want b1", list)
	}
	if list, err := s.ListBatches(ctx, "t1", "msgbatch_", "", 10); err != nil || len(list) != 0 {
		t.Errorf("ListBatches(another prefix): got %+v, %v; want none", list, err)
	}
	if list, err := s.ListBatchesBefore(ctx, "t1", "batch_", b1.ID, 10); err != nil || len(list) != 1 || list[0].ID != b2.ID {
		t.Errorf("ListBatchesBefore(b1): got %+v, %v; want b2 (t2's b3 is not t1's)", list, err)
	}
	if list, err := s.ListBatchesBefore(ctx, "t1", "batch_", b2.ID, 10); err != nil || len(list) != 0 {
		t.Errorf("ListBatchesBefore(b2): got %+v, %v; want none", list, err)
	}
	b4 := store.Batch{ID: store.NewSortableID("batch_", base.Add(3*time.Second)), TenantID: "t1", Status: store.BatchCompleted, Created: base, Doc: []byte(`{}`)}
	if err := s.CreateBatch(ctx, b4); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListBatchesBefore(ctx, "t1", "batch_", b1.ID, 1); len(list) != 1 || list[0].ID != b2.ID {
		t.Errorf("ListBatchesBefore(b1, limit 1): got %+v, want b2, the one just before b1", list)
	}
	if list, _ := s.ListBatchesBefore(ctx, "t1", "batch_", b1.ID, 10); len(list) != 2 || list[0].ID != b4.ID || list[1].ID != b2.ID {
		t.Errorf("ListBatchesBefore(b1): got %+v, want b4, b2 (newest first)", list)
	}
	if err := s.DeleteBatch(ctx, "t1", b4.ID); err != nil {
		t.Fatal(err)
	}
	un, err := s.UnfinishedBatches(ctx)
	if err != nil || len(un) != 2 || un[0].ID != b1.ID || un[1].ID != b3.ID {
		t.Errorf("UnfinishedBatches: got %+v, %v; want b1, b3", un, err)
	}

	b1.Status, b1.Doc = store.BatchInProgress, []byte(`{"a":2}`)
	if err := s.UpdateBatch(ctx, b1, store.BatchValidating); err != nil {
		t.Fatalf("UpdateBatch: %v", err)
	}
	stale := b1
	stale.Status = store.BatchFailed
	if err := s.UpdateBatch(ctx, stale, store.BatchValidating); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateBatch(stale status): got %v, want ErrConflict", err)
	}
	if got, _ := s.GetBatch(ctx, "t1", b1.ID); got.Status != store.BatchInProgress || string(got.Doc) != `{"a":2}` {
		t.Errorf("after UpdateBatch: got %s %s", got.Status, got.Doc)
	}
	if err := s.DeleteBatch(ctx, "t2", b2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteBatch(other tenant): got %v, want ErrNotFound", err)
	}
	if err := s.DeleteBatch(ctx, "t1", b2.ID); err != nil {
		t.Errorf("DeleteBatch: %v", err)
	}
	if _, err := s.GetBatch(ctx, "t1", b2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetBatch after delete: got %v, want ErrNotFound", err)
	}
	missing := store.Batch{ID: "batch_missing", Status: store.BatchFailed, Doc: []byte(`{}`)}
	if err := s.UpdateBatch(ctx, missing, store.BatchValidating); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateBatch(missing): got %v, want ErrNotFound", err)
	}
}

func testBatchRetention(t *testing.T, s store.Store) {
	ctx := t.Context()
	old, recent := base, base.Add(48*time.Hour)
	for _, f := range []store.File{
		{ID: "file-old", TenantID: "t1", Purpose: "batch", Created: old},
		{ID: "file-new", TenantID: "t2", Purpose: "batch", Created: recent},
		{ID: "file-old-in-use", TenantID: "t1", Purpose: "batch", Created: old},
	} {
		if err := s.CreateFile(ctx, f, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []store.Batch{
		{ID: "batch_old_done", TenantID: "t1", Status: store.BatchCompleted, Created: old, Doc: []byte(`{}`)},
		{ID: "batch_old_running", TenantID: "t1", Status: store.BatchInProgress, Created: old, Doc: []byte(`{"input_file_id":"file-old-in-use"}`)},
		{ID: "batch_new_done", TenantID: "t2", Status: store.BatchCancelled, Created: recent, Doc: []byte(`{}`)},
	} {
		if err := s.CreateBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	files, batches, err := s.DeleteBatchDataBefore(ctx, base.Add(24*time.Hour))
	if err != nil || files != 1 || batches != 1 {
		t.Fatalf("DeleteBatchDataBefore: got %d files, %d batches, %v; want 1, 1", files, batches, err)
	}
	for tenant, id := range map[string]string{"t1": "batch_old_running", "t2": "batch_new_done"} {
		if _, err := s.GetBatch(ctx, tenant, id); err != nil {
			t.Errorf("batch %s: %v, want it kept", id, err)
		}
	}
	for tenant, id := range map[string]string{"t2": "file-new", "t1": "file-old-in-use"} {
		if _, err := s.GetFile(ctx, tenant, id); err != nil {
			t.Errorf("file %s: %v, want it kept (recent, or a running batch's input)", id, err)
		}
	}
	if _, err := s.GetFile(ctx, "t1", "file-old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old file: %v, want it deleted", err)
	}
}

func testBatchResults(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, r := range []store.BatchResult{
		{Line: 2, OK: false, Data: []byte("e2")},
		{Line: 0, OK: true, Data: []byte("r0")},
		{Line: 1, OK: true, Data: []byte("r1")},
		{Line: 0, OK: false, Data: []byte("second write of line 0")},
	} {
		if err := s.PutBatchResult(ctx, "b1", r); err != nil {
			t.Fatalf("PutBatchResult: %v", err)
		}
	}
	if err := s.PutBatchResult(ctx, "b2", store.BatchResult{Line: 0, OK: true, Data: []byte("other")}); err != nil {
		t.Fatal(err)
	}
	ok, failed, err := s.CountBatchResults(ctx, "b1")
	if err != nil || ok != 2 || failed != 1 {
		t.Errorf("CountBatchResults: got %d ok, %d failed, %v; want 2, 1", ok, failed, err)
	}
	var got []store.BatchResult
	if err := s.BatchResults(ctx, "b1", func(r store.BatchResult) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []store.BatchResult{{Line: 0, OK: true, Data: []byte("r0")}, {Line: 1, OK: true, Data: []byte("r1")}, {Line: 2, Data: []byte("e2")}}
	if !cmp.Equal(got, want) {
		t.Errorf("BatchResults: got %+v, want %+v", got, want)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.BatchResults(ctx, "b1", func(store.BatchResult) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("BatchResults with fn error: got %v after %d calls, want stop after 1", err, n)
	}
	if err := s.DeleteBatchResults(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if ok, failed, _ := s.CountBatchResults(ctx, "b1"); ok+failed != 0 {
		t.Errorf("after delete: %d results", ok+failed)
	}
	if ok, _, _ := s.CountBatchResults(ctx, "b2"); ok != 1 {
		t.Errorf("another batch's results were deleted")
	}
}

func testBatchLeases(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := store.Batch{ID: store.NewSortableID("batch_", base), TenantID: "t1", Status: store.BatchInProgress, Created: base, Doc: []byte(`{}`)}
	if err := s.CreateBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	claim := func(owner string, now time.Time, lease time.Duration) bool {
		t.Helper()
		ok, err := s.ClaimBatch(ctx, b.ID, owner, now, now.Add(lease))
		if err != nil {
			t.Fatalf("ClaimBatch(%s): %v", owner, err)
		}
		return ok
	}
	if !claim("a", base, 30*time.Second) {
		t.Fatal("a fresh batch: want a's claim to hold")
	}
	if got, _ := s.GetBatch(ctx, "", b.ID); !got.LeaseUntil.Equal(base.Add(30*time.Second)) || got.LeaseOwner != "a" {
		t.Errorf("LeaseUntil %v owner %q, want %v a", got.LeaseUntil, got.LeaseOwner, base.Add(30*time.Second))
	}
	if claim("b", base.Add(10*time.Second), 30*time.Second) {
		t.Error("b claimed a batch a holds")
	}
	if !claim("a", base.Add(20*time.Second), 30*time.Second) {
		t.Error("a could not renew its own lease")
	}
	if claim("b", base.Add(45*time.Second), 30*time.Second) {
		t.Error("b claimed before a's renewed lease lapsed (at 50s)")
	}
	if !claim("b", base.Add(50*time.Second), 30*time.Second) {
		t.Error("b could not take the batch once a's lease lapsed")
	}
	if claim("a", base.Add(60*time.Second), 30*time.Second) {
		t.Error("a took back a batch b holds")
	}
	if err := s.ReleaseBatch(ctx, b.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if claim("c", base.Add(61*time.Second), 30*time.Second) {
		t.Error("a released a lease it did not hold")
	}
	if err := s.ReleaseBatch(ctx, b.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetBatch(ctx, "", b.ID); !got.LeaseUntil.IsZero() {
		t.Errorf("released: LeaseUntil %v, want zero", got.LeaseUntil)
	}
	if !claim("c", base.Add(61*time.Second), 30*time.Second) {
		t.Error("c could not take a released batch at once")
	}
	if ok, err := s.ClaimBatch(ctx, "batch_missing", "a", base, base.Add(time.Minute)); ok || err != nil {
		t.Errorf("ClaimBatch(missing): %v, %v; want not held", ok, err)
	}
}
