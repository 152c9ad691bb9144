package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// File is a file of the Files API: a batch's input, uploaded by a client,
// or its output, written by the gateway. The content is stored beside it.
type File struct {
	ID       string
	TenantID string
	Purpose  string
	Filename string
	Bytes    int64
	Created  time.Time
}

// Batch statuses. The first four are unfinished: a worker owns the batch.
const (
	BatchValidating = "validating"
	BatchInProgress = "in_progress"
	BatchFinalizing = "finalizing"
	BatchCancelling = "cancelling"
	BatchFailed     = "failed"
	BatchCompleted  = "completed"
	BatchExpired    = "expired"
	BatchCancelled  = "cancelled"
)

// Batch is a batch of the Batch API. The store indexes the columns; Doc is
// the rest of the batch object, as JSON the batch package owns.
type Batch struct {
	ID       string
	TenantID string
	KeyID    string
	Status   string
	Created  time.Time
	Doc      []byte
	// LeaseUntil is when the lease of the worker running the batch lapses
	// (see ClaimBatch); zero when no worker holds one.
	LeaseUntil time.Time
	// LeaseOwner names the worker that holds, or last held, the lease.
	LeaseOwner string
}

// BatchResult is the outcome of one input line of a batch: the output
// line to write, and whether it goes to the output file (OK) or the error
// file.
type BatchResult struct {
	Line int
	OK   bool
	Data []byte
}

// BatchStore persists files, batches and per-line batch results. Reads
// take the tenant: an ID of another tenant is ErrNotFound.
type BatchStore interface {
	// CreateFile stores f and its content; ErrConflict when the ID exists.
	CreateFile(ctx context.Context, f File, content []byte) error
	GetFile(ctx context.Context, tenantID, id string) (File, error)
	FileContent(ctx context.Context, tenantID, id string) ([]byte, error)
	// ListFiles lists a tenant's files whose ID begins with prefix, newest
	// first, those with an ID before after (when set), of one purpose
	// (when set), at most limit.
	ListFiles(ctx context.Context, tenantID, prefix, purpose, after string, limit int) ([]File, error)
	DeleteFile(ctx context.Context, tenantID, id string) error

	CreateBatch(ctx context.Context, b Batch) error
	// GetBatch returns the batch; an empty tenantID matches any tenant
	// (the worker's lookup).
	GetBatch(ctx context.Context, tenantID, id string) (Batch, error)
	// ListBatches lists a tenant's batches whose ID begins with prefix,
	// newest first, like ListFiles.
	ListBatches(ctx context.Context, tenantID, prefix, after string, limit int) ([]Batch, error)
	// ListBatchesBefore lists, newest first, the at most limit batches
	// made just after batch before (the page before it in ListBatches'
	// order), whose ID begins with prefix.
	ListBatchesBefore(ctx context.Context, tenantID, prefix, before string, limit int) ([]Batch, error)
	// DeleteBatch deletes the tenant's batch id (not its files).
	DeleteBatch(ctx context.Context, tenantID, id string) error
	// UpdateBatch replaces Status and Doc if the stored status is still
	// from (compare and set); ErrConflict when it is not.
	UpdateBatch(ctx context.Context, b Batch, from string) error
	// UnfinishedBatches lists every tenant's batches in an unfinished
	// status, oldest first.
	UnfinishedBatches(ctx context.Context) ([]Batch, error)
	// ClaimBatch makes owner the worker of batch id until until, unless
	// another owner's lease on it lasts past now, and reports whether
	// owner holds it; a holder calls it again to renew. Unknown IDs are
	// not held.
	ClaimBatch(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	// ReleaseBatch ends owner's lease on batch id, if it holds it, so
	// another worker may take the batch at once.
	ReleaseBatch(ctx context.Context, id, owner string) error

	// PutBatchResult stores one line's result; the first write of a line
	// wins, so a line run twice is recorded once.
	PutBatchResult(ctx context.Context, batchID string, r BatchResult) error
	// BatchResults calls fn for each stored result in line order.
	BatchResults(ctx context.Context, batchID string, fn func(BatchResult) error) error
	// CountBatchResults counts the stored results, OK and not.
	CountBatchResults(ctx context.Context, batchID string) (ok, failed int, err error)
	DeleteBatchResults(ctx context.Context, batchID string) error

	// DeleteBatchDataBefore deletes every tenant's files created before
	// before, except the input files of unfinished batches (their Doc's
	// input_file_id), and the finished batches created before it.
	DeleteBatchDataBefore(ctx context.Context, before time.Time) (files, batches int64, err error)
}

// Unfinished reports whether a batch in status is still a worker's.
func Unfinished(status string) bool {
	switch status {
	case BatchValidating, BatchInProgress, BatchFinalizing, BatchCancelling:
		return true
	}
	return false
}

// NewSortableID returns prefix + 48 bits of the Unix time in milliseconds
// and 80 random bits, in hex: IDs made later sort later, so "newest first"
// is "ID descending" and a page continues after an ID. Within one
// millisecond a process counts up from its first random value (IDs of
// different replicas in one millisecond sort in either order).
func NewSortableID(prefix string, now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	sortable.Lock()
	if ms == sortable.ms {
		// In the millisecond of the last ID this process made: the next
		// value, so IDs keep creation order.
		b = sortable.last
		for i := 15; i >= 6; i-- {
			if b[i]++; b[i] != 0 {
				break
			}
		}
	} else {
		for i := 5; i >= 0; i-- {
			b[i] = byte(ms >> (8 * (5 - i)))
		}
		_, _ = rand.Read(b[6:])
		b[6] &= 0x7f // room to count up within the millisecond
	}
	sortable.ms, sortable.last = ms, b
	sortable.Unlock()
	return prefix + hex.EncodeToString(b[:])
}

// sortable is the last ID NewSortableID made, to keep IDs of one process
// in creation order within a millisecond.
var sortable struct {
	sync.Mutex
	ms   uint64
	last [16]byte
}
