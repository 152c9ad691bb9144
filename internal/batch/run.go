package batch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/telemetry"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// Principals resolves the key a batch was created with to the caller its
// lines run as; the tenancy guard is one.
type Principals interface {
	Principal(ctx context.Context, keyID string) (*gateway.Principal, error)
}

// RunnerOptions wire a Runner.
type RunnerOptions struct {
	Store store.Store
	// API is the gateway's handler; each line is served by it in-process.
	API        http.Handler
	Principals Principals
	// Concurrency is how many lines of a batch are in flight at once.
	Concurrency int
	// MaxRequests is the most lines a batch may have.
	MaxRequests int
	// Poll is how often a running batch's status is read, to notice a
	// cancel; default 1s.
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, when set, counts finished batches and answered lines.
	Metrics *telemetry.Metrics
	// Lease is how long the runner's hold on a batch lasts unrenewed; it
	// renews every third of it. Default 30s.
	Lease time.Duration
	// Owner names the runner in the store's leases; default random.
	Owner string
	// YieldAfter is the longest a line waits, in its worker, to try
	// again after its key's rate limit refused it: a longer Retry-After
	// gives the batch back to the queue (see Throttled), so that a
	// worker does not sit idle while other tenants' batches wait.
	// Default 5s.
	YieldAfter time.Duration
	// Recorder, when set, gets the usage record of each line refused
	// because the batch's key no longer works: the gateway records the
	// lines it serves, but never sees these. A gateway.DurableRecorder
	// writes it before the line's result is stored, as the gateway does
	// for a line it serves. The usage ledger.
	Recorder gateway.Recorder
}

// Runner runs batches: it validates the input file, serves each line, and
// writes the output and error files.
type Runner struct {
	st          store.Store
	api         http.Handler
	principals  Principals
	concurrency int
	maxRequests int
	poll        time.Duration
	now         func() time.Time
	log         *slog.Logger
	metrics     *telemetry.Metrics
	lease       time.Duration
	owner       string
	rec         gateway.Recorder
	yieldAfter  time.Duration

	// storeRetry is the first wait before a line's result is stored
	// again after the store failed; it doubles up to maxStoreRetry.
	storeRetry time.Duration

	mu      sync.Mutex
	running map[string]bool      // batches this runner is running
	resting map[string]time.Time // batches it gave back, until when
}

// Throttled is what Run returns for a batch it gave back to the queue
// because a line must wait Wait or more for its key's rate limit: a queue
// runs it again after Wait, behind the batches queued meanwhile, rather
// than keep a worker that other tenants' batches wait for. The lines
// answered are kept; the others run when it runs again.
type Throttled struct{ Wait time.Duration }

func (t *Throttled) Error() string {
	return "batch: rate-limited, given back to the queue for " + t.Wait.String()
}

// errLeaseLost stops a run whose lease another runner took over (this one
// stalled past it): the other runner finishes the batch.
var errLeaseLost = errors.New("batch: the lease passed to another runner")

// ErrHeld is what Run returns for a batch another runner holds: a queue
// tries it again later (NATS), or leaves it to Resume, which publishes
// it once the holder's lease lapses (embedded).
var ErrHeld = errors.New("batch: another runner holds the batch")

// NewRunner returns a Runner; Run is the handler a Queue calls.
func NewRunner(o RunnerOptions) *Runner {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Owner == "" {
		o.Owner = rand.Text()
	}
	if o.YieldAfter <= 0 {
		o.YieldAfter = 5 * time.Second
	}
	return &Runner{st: o.Store, api: o.API, principals: o.Principals, concurrency: o.Concurrency,
		maxRequests: o.MaxRequests, poll: o.Poll, now: o.Now, log: o.Logger, metrics: o.Metrics,
		lease: o.Lease, owner: o.Owner, rec: o.Recorder, yieldAfter: o.YieldAfter, storeRetry: 250 * time.Millisecond,
		running: make(map[string]bool), resting: make(map[string]time.Time)}
}

// Resume publishes to q every unfinished batch of the store that no
// runner holds (its lease lapsed, or it never had one), for an embedded
// queue: at start, and then every lease, so that the batches of a replica
// that died are taken over by the others.
func (r *Runner) Resume(ctx context.Context, q Queue) error {
	bs, err := r.st.UnfinishedBatches(ctx)
	if err != nil {
		return err
	}
	now, n := r.now(), 0
	for _, b := range bs {
		// A lease of this runner's name that this runner is not running
		// was its previous start's (a stable Owner): resume it now.
		if b.LeaseUntil.After(now) && b.LeaseOwner != r.owner || r.isRunning(b.ID) || r.restingFor(b.ID) > 0 {
			continue
		}
		if err := q.Publish(ctx, b.ID); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		r.log.Info("batch: resuming unfinished batches", "count", n)
	}
	return nil
}

// KeepResuming calls Resume every lease until ctx ends.
func (r *Runner) KeepResuming(ctx context.Context, q Queue) {
	t := time.NewTicker(r.lease)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Resume(ctx, q); err != nil && ctx.Err() == nil {
				r.log.Warn("batch: looking for batches to resume failed", "err", err)
			}
		}
	}
}

// restingFor is how much longer batch id, which this runner gave back
// (Throttled), waits before it runs again; 0 when it need not.
func (r *Runner) restingFor(id string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.resting[id]
	if !ok {
		return 0
	}
	if d := until.Sub(r.now()); d > 0 {
		return d
	}
	delete(r.resting, id)
	return 0
}

func (r *Runner) rest(id string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resting[id] = r.now().Add(d)
}

func (r *Runner) isRunning(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[id]
}

// begin marks id as running here, or reports that it already is.
func (r *Runner) begin(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[id] {
		return false
	}
	r.running[id] = true
	return true
}

func (r *Runner) end(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, id)
}

// hold is a runner's lease on a batch it runs: when it was last renewed,
// and whether another runner took it over, shared by the watcher that
// renews it, the loop that starts lines and the lines storing results.
type hold struct {
	r       *Runner
	id      string
	renewed atomic.Int64 // Unix nanoseconds of the last renewal
	lost    atomic.Bool  // another runner holds the batch now
}

// renew claims the batch again; false when another runner holds it.
func (h *hold) renew(ctx context.Context) (bool, error) {
	now := h.r.now()
	held, err := h.r.st.ClaimBatch(ctx, h.id, h.r.owner, now, now.Add(h.r.lease))
	if held && err == nil {
		h.renewed.Store(now.UnixNano())
	}
	return held, err
}

func (h *hold) last() time.Time { return time.Unix(0, h.renewed.Load()) }

// lapsed reports whether the lease ran out unrenewed: another runner may
// have taken the batch.
func (h *hold) lapsed() bool { return !h.r.now().Before(h.last().Add(h.r.lease)) }

// claim takes or renews the runner's lease on batch id.
func (r *Runner) claim(ctx context.Context, id string) (bool, error) {
	now := r.now()
	return r.st.ClaimBatch(ctx, id, r.owner, now, now.Add(r.lease))
}

// line is one request of a batch's input.
type line struct {
	no int // 1-based line number in the file
	in inputLine
}

// Run takes batch id as far as it can: validation, the lines not yet
// done, and the output files. It returns nil when the batch is finished
// or does not exist; ErrHeld when another runner holds it; ctx's error
// when the replica is stopping (the batch resumes later); and another
// error when the store failed. The runner holds a lease on the batch
// while it runs it, and gives it up when it stops.
func (r *Runner) Run(ctx context.Context, id string) error {
	if d := r.restingFor(id); d > 0 {
		return &Throttled{Wait: d} // published again before its time
	}
	if !r.begin(id) {
		return nil // a worker of this runner has it
	}
	defer r.end(id)
	held, err := r.claim(ctx, id)
	if err != nil {
		return err
	}
	if !held {
		r.log.Debug("batch: another runner holds it", "batch", id)
		return ErrHeld
	}
	defer func() {
		if err := r.st.ReleaseBatch(context.WithoutCancel(ctx), id, r.owner); err != nil {
			r.log.Warn("batch: could not release the lease; it lapses", "batch", id, "err", err)
		}
	}()
	err = r.run(ctx, id)
	if errors.Is(err, errLeaseLost) {
		r.log.Warn("batch: another runner took the batch over", "batch", id)
		return ErrHeld
	}
	var th *Throttled
	if errors.As(err, &th) {
		r.rest(id, th.Wait)
		r.log.Info("batch: rate-limited; given back to the queue", "batch", id, "for", th.Wait)
	}
	return err
}

// run is Run for a batch the runner holds.
func (r *Runner) run(ctx context.Context, id string) error {
	b, err := r.st.GetBatch(ctx, "", id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !store.Unfinished(b.Status) {
		return nil
	}
	o, err := decode(b)
	if err != nil {
		return r.fail(ctx, b, &object{ID: b.ID, Status: b.Status}, lineError{Code: "internal_error", Message: "the stored batch is unreadable"})
	}
	content, err := r.st.FileContent(ctx, b.TenantID, o.InputFileID)
	if errors.Is(err, store.ErrNotFound) {
		// The file went while the batch had not ended (DELETE refuses
		// that, but a delete can race the batch's creation). The lines
		// answered so far were paid for: a batch past validating ends
		// with their output and error files, failed if lines were still
		// to run, as it would otherwise (finalizing, cancelling).
		switch b.Status {
		case store.BatchValidating:
			return r.fail(ctx, b, o, lineError{Code: "input_file_missing", Message: "the input file " + o.InputFileID + " was deleted"})
		case store.BatchInProgress:
			return r.finalize(ctx, b.ID, nil, &lineError{Code: "input_file_missing", Message: "the input file " + o.InputFileID +
				" was deleted while the batch ran: the lines answered before are in the output and error files (request_counts), the others did not run"})
		}
		return r.finalize(ctx, b.ID, nil, nil)
	}
	if err != nil {
		return err
	}
	// A batch past validating was checked already: its lines are read
	// whatever batch.max_requests says now (it may have been lowered
	// since), not cut at it.
	limit := r.maxRequests
	if b.Status != store.BatchValidating {
		limit = 0
	}
	lines, problems := r.scan(content, o.Endpoint, limit)
	if b.Status == store.BatchValidating {
		if len(problems) > 0 {
			return r.fail(ctx, b, o, problems...)
		}
		o.Status, o.InProgressAt, o.RequestCounts.Total = store.BatchInProgress, unix(r.now()), len(lines)
		o.Model = modelOf(lines)
		err := r.st.UpdateBatch(ctx, o.encode(b.TenantID, b.KeyID, b.Created), store.BatchValidating)
		if errors.Is(err, store.ErrConflict) {
			return r.run(ctx, id) // cancelled meanwhile
		}
		if err != nil {
			return err
		}
		b.Status = store.BatchInProgress
	}
	if b.Status == store.BatchInProgress {
		expired, err := r.process(ctx, b, o, lines)
		var th *Throttled
		if errors.As(err, &th) {
			// Cancelled meanwhile: end it now, not once it runs again.
			if cur, e := r.st.GetBatch(ctx, "", id); e == nil && cur.Status != store.BatchInProgress {
				return r.run(ctx, id)
			}
		}
		if err != nil {
			return err
		}
		if expired {
			return r.finalize(ctx, b.ID, lines, nil)
		}
	}
	return r.finalize(ctx, b.ID, nil, nil)
}

// fail ends a batch that could not start, with the reasons.
func (r *Runner) fail(ctx context.Context, b store.Batch, o *object, why ...lineError) error {
	from := b.Status
	o.Status, o.FailedAt = store.BatchFailed, unix(r.now())
	o.Errors = &errorList{Object: "list", Data: why}
	err := r.st.UpdateBatch(ctx, o.encode(b.TenantID, b.KeyID, b.Created), from)
	if errors.Is(err, store.ErrConflict) {
		return r.run(ctx, b.ID)
	}
	if err == nil {
		r.countBatch(store.BatchFailed)
		r.log.Info("batch failed", "batch", b.ID, "reason", why[0].Code)
	}
	return err
}

// maxProblems bounds the validation errors reported for one file.
const maxProblems = 100

// parse splits a JSONL input into its requests, and lists what is wrong
// with it; a batch with any problem fails as a whole, as OpenAI's does.
// It stops at the request past batch.max_requests.
func (r *Runner) parse(content []byte, endpoint string) ([]line, []lineError) {
	return r.scan(content, endpoint, r.maxRequests)
}

// eachLine calls fn with each line of content (1-based number, without
// its "\n") until fn returns false. It walks content in place: a file of
// millions of short lines costs no slice of them all.
func eachLine(content []byte, fn func(no int, raw []byte) bool) {
	for no := 1; ; no++ {
		i := bytes.IndexByte(content, '\n')
		if i < 0 {
			fn(no, content)
			return
		}
		if !fn(no, content[:i]) {
			return
		}
		content = content[i+1:]
	}
}

// scan is parse, stopping (too_many_requests) at the request past limit
// when limit > 0.
func (r *Runner) scan(content []byte, endpoint string, limit int) ([]line, []lineError) {
	var (
		lines    []line
		problems []lineError
		seen     = map[string]bool{}
	)
	bad := func(no int, code, msg string) {
		if len(problems) < maxProblems {
			n := no
			problems = append(problems, lineError{Code: code, Message: msg, Line: &n})
		}
	}
	// A UTF-8 byte order mark, which editors on Windows write, is not
	// part of line 1.
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf"))
	requests, tooMany := 0, false
	eachLine(content, func(no int, raw []byte) bool {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			return true
		}
		// Past the limit the batch fails whatever the other lines hold:
		// reading them would only cost memory (each parsed line is kept).
		if requests++; limit > 0 && requests > limit {
			tooMany = true
			return false
		}
		// json.Unmarshal would turn invalid UTF-8 into U+FFFD: two
		// custom_ids would collide, and one come back changed.
		if !utf8.Valid(raw) {
			bad(no, "invalid_json_line", "line is not valid UTF-8")
			return true
		}
		var in inputLine
		if err := json.Unmarshal(raw, &in); err != nil {
			_, msg := jsonProblem("line", err)
			bad(no, "invalid_json_line", msg)
			return true
		}
		switch {
		case in.CustomID == "":
			bad(no, "missing_required_parameter", "custom_id is required")
		case seen[in.CustomID]:
			bad(no, "duplicate_custom_id", "custom_id "+strconv.Quote(truncate(in.CustomID, 64))+" appears more than once")
		case in.Method != http.MethodPost:
			bad(no, "invalid_method", "method must be POST")
		case in.URL != endpoint:
			bad(no, "mismatched_url", "url must be the batch's endpoint "+endpoint+", got "+strconv.Quote(truncate(in.URL, 100)))
		case !wirejson.Valid(in.Body) || !gjson.ParseBytes(in.Body).IsObject():
			bad(no, "invalid_body", "body must be a JSON object")
		case gjson.GetBytes(in.Body, "stream").Bool():
			bad(no, "invalid_body", "stream is not supported in a batch")
		}
		seen[in.CustomID] = true
		lines = append(lines, line{no: no, in: in})
		return true
	})
	switch {
	case tooMany:
		problems = append(problems, lineError{Code: "too_many_requests", Message: fmt.Sprintf("the input file holds more than %d requests, the most a batch may hold (batch.max_requests)", limit)})
	case len(lines) == 0 && len(problems) == 0:
		problems = append(problems, lineError{Code: "empty_file", Message: "the input file holds no requests"})
	}
	return lines, problems
}

// modelOf is the model every line's body names, or "" when they differ.
func modelOf(lines []line) string {
	var model string
	for i, ln := range lines {
		m := gjson.GetBytes(ln.in.Body, "model").String()
		if i > 0 && m != model {
			return ""
		}
		model = m
	}
	return model
}

// process serves the lines that have no result yet, until all have one,
// the batch is cancelled or expires (expired true), or ctx ends (its
// error).
func (r *Runner) process(ctx context.Context, b store.Batch, o *object, lines []line) (bool, error) {
	done := make(map[int]bool)
	if err := r.st.BatchResults(ctx, b.ID, func(res store.BatchResult) error { done[res.Line] = true; return nil }); err != nil {
		return false, err
	}

	h := &hold{r: r, id: b.ID}
	// Renewing the lease first starts the clock of lapsed from a renewal.
	if held, err := h.renew(ctx); err != nil || !held {
		if err == nil {
			err = errLeaseLost
		}
		return false, err
	}

	var stop, pastExpiry atomic.Bool
	// halt reports whether to start no more lines: the batch was
	// cancelled or expired, or the replica is stopping. Expiry is read
	// here too, not only by the watcher, so that a batch resumed past
	// its expires_at runs no line.
	halt := func() bool {
		if o.ExpiresAt != nil && r.now().Unix() >= *o.ExpiresAt {
			pastExpiry.Store(true)
			stop.Store(true)
		}
		return stop.Load() || ctx.Err() != nil
	}
	// A line's request ends, when the replica stops (ctx ends), as a
	// client's request cut by the server's shutdown does: with
	// gateway.ErrShuttingDown as its context's cause, so the gateway
	// records it as "shutdown", not "client_cancelled".
	linesCtx, cancelLines := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelLines(nil)
	stopLines := context.AfterFunc(ctx, func() { cancelLines(gateway.ErrShuttingDown) })
	defer stopLines()
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		t := time.NewTicker(min(r.poll, r.lease/3))
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				cur, err := r.st.GetBatch(wctx, "", b.ID)
				if err == nil && cur.Status != store.BatchInProgress {
					stop.Store(true)
				}
				halt()
				if r.now().Sub(h.last()) >= r.lease/3 {
					held, err := h.renew(wctx)
					switch {
					case err != nil:
						r.log.Warn("batch: could not renew the lease", "batch", b.ID, "err", err)
					case !held:
						h.lost.Store(true)
						stop.Store(true)
					}
				}
			}
		}
	}()

	var (
		wg      sync.WaitGroup
		slots   = newPacer(r.concurrencyFor(ctx, b))
		mu      sync.Mutex
		saveErr error
		yield   time.Duration // a line's wait that gives the batch back
	)
	// giveBack stops the run for a line that must wait d: the lines in
	// flight end, and the batch goes back to the queue.
	giveBack := func(d time.Duration) {
		mu.Lock()
		yield = max(yield, d)
		mu.Unlock()
		stop.Store(true)
	}
	failed := func(err error) {
		mu.Lock()
		saveErr = err
		mu.Unlock()
		stop.Store(true)
	}
	// mayStart reports whether a request of a line may start now: not
	// halted, and the lease still held. A runner that stalled past its
	// lease (a paused process) renews it first, and stops if another
	// runner took the batch over meanwhile, instead of running lines
	// that runner runs too until the watcher notices.
	mayStart := func() bool {
		if halt() {
			return false
		}
		if !h.lapsed() {
			return true
		}
		held, err := h.renew(ctx)
		switch {
		case err != nil:
			failed(err)
			return false
		case !held:
			h.lost.Store(true)
			stop.Store(true)
			return false
		}
		return true
	}
	for i, ln := range lines {
		if done[i] {
			continue
		}
		if halt() {
			break
		}
		if !slots.acquire(ctx, false) {
			break
		}
		// The wait for a slot may have outlasted the batch (cancelled,
		// expired), the replica (stopping) or the lease: look again.
		if !mayStart() {
			slots.release()
			break
		}
		wg.Go(func() {
			held := &slot{p: slots, held: true}
			defer held.release()
			// The key is looked up for every line: a key revoked
			// meanwhile stops being served.
			var (
				res    store.BatchResult
				result = "refused"
				denied *gateway.Denied
			)
			who, err := r.principals.Principal(ctx, b.KeyID)
			switch {
			case err == nil:
				if res, err = r.serve(ctx, linesCtx, b, who, i, ln, held, mayStart, giveBack); err != nil {
					return // stopping: the line runs again when the batch resumes
				}
				result = "error"
				if res.OK {
					result = "ok"
				}
			case errors.As(err, &denied) && denied.Status < 500:
				res = r.refused(ctx, b, i, ln, denied)
			default:
				failed(err) // the key store is down: try the batch later
				return
			}
			if err := r.keep(ctx, h, res); err != nil {
				return // stopping, or the lease lost: the line runs again where the batch resumes
			}
			r.countLine(result)
		})
	}
	wg.Wait()
	cancelWatch()
	<-watchDone
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if saveErr != nil {
		return false, saveErr
	}
	if h.lost.Load() {
		return false, errLeaseLost
	}
	if yield > 0 && !pastExpiry.Load() {
		return false, &Throttled{Wait: yield}
	}
	return pastExpiry.Load(), nil
}

// maxStoreRetry bounds the wait between tries to store a line's result.
const maxStoreRetry = 5 * time.Second

// keep stores a line's result. The line was served, and paid for: while
// the store fails, keep tries again, backing off, rather than leave the
// line to run (and be paid for) again. It gives up only when the replica
// stops (ctx's error) or another runner took the batch over
// (errLeaseLost), which runs the line again.
func (r *Runner) keep(ctx context.Context, h *hold, res store.BatchResult) error {
	wait := r.storeRetry
	for {
		err := r.st.PutBatchResult(context.WithoutCancel(ctx), h.id, res)
		if err == nil {
			return nil
		}
		r.log.Warn("batch: could not store a line's result; trying again", "batch", h.id, "line", res.Line, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			err = ctx.Err()
		case <-t.C:
			if h.lost.Load() {
				err = errLeaseLost
			}
		}
		if errors.Is(err, errLeaseLost) || ctx.Err() != nil {
			r.log.Warn("batch: a line's result was dropped unstored; the line runs again where the batch resumes",
				"batch", h.id, "line", res.Line, "request_id", gjson.GetBytes(res.Data, "response.request_id").String(), "err", err)
			return err
		}
		wait = min(2*wait, maxStoreRetry)
	}
}

func (r *Runner) countLine(result string) {
	if r.metrics != nil {
		r.metrics.BatchLines.WithLabelValues(result).Inc()
	}
}

func (r *Runner) countBatch(status string) {
	if r.metrics != nil {
		r.metrics.Batches.WithLabelValues(status).Inc()
	}
}

// outputID is the id of line i's output line: the same however often
// the line runs.
func outputID(batchID string, i int) string {
	_, hex := kindOf(batchID)
	return "batch_req_" + hex + "_" + strconv.Itoa(i)
}

// kindOf splits a batch ID into the prefix of its API's file IDs and its
// unique part.
func kindOf(batchID string) (filePrefixOf, hex string) {
	if h, ok := strings.CutPrefix(batchID, msgBatchPrefix); ok {
		return msgFilePrefix, h
	}
	return filePrefix, strings.TrimPrefix(batchID, batchPrefix)
}

// maxTries bounds the tries of a line the gateway rate-limits.
const maxTries = 6

// errStopped is serve's error for a line whose retry mayStart forbade.
var errStopped = errors.New("batch: the run stopped before the line's retry")

// serve runs line i through the gateway as who, its request in linesCtx
// (ctx's values, ended with its cause when ctx ends), in the batch's slot
// held. A 429 of the caller's own rate limits is tried again after its
// Retry-After, if mayStart still allows it then; everything else is the
// line's result. A budget refused while other lines of the batch are in
// flight (they hold its room) lowers how many run at once: the line gives
// up its slot and tries again, not counted against maxTries, once it has
// one again. A line that must wait yieldAfter or more calls giveBack
// instead, and runs again when the batch does. serve fails only when ctx
// ends, mayStart forbids a retry or the line was given back: then the
// line has no result.
func (r *Runner) serve(ctx, linesCtx context.Context, b store.Batch, who *gateway.Principal, i int, ln line, held *slot, mayStart func() bool, giveBack func(time.Duration)) (store.BatchResult, error) {
	outID := outputID(b.ID, i)
	for try := 0; ; try++ {
		// Every try is a request of its own, with a usage record of its
		// own: a try cut off by a stopping replica was still billed.
		reqID := reqid.New()
		// Its usage record is written before the handler returns: the
		// line's answer is saved as done next, and a crash between the
		// two must not leave an answered line no one is billed for.
		rctx := gateway.WithDurableUsage(gateway.WithPrincipal(reqid.With(linesCtx, reqID), who))
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, ln.in.URL, bytes.NewReader(ln.in.Body))
		if err != nil {
			return store.BatchResult{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		rec := &recorder{header: http.Header{}}
		r.api.ServeHTTP(rec, req)
		if err := ctx.Err(); err != nil {
			return store.BatchResult{}, err
		}
		if retryable(rec) && try+1 < maxTries {
			wait := retryAfter(rec.header.Get("Retry-After"))
			// The batch's own lines hold the budget's room: fewer at
			// once, and this line waits for one of them to end.
			yielded := isBudget(rec) && held.p.lower()
			if yielded {
				held.release()
				try--
			} else if wait >= r.yieldAfter {
				giveBack(wait)
				return store.BatchResult{}, errStopped
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return store.BatchResult{}, ctx.Err()
			case <-t.C:
			}
			if yielded && !held.acquire(ctx) {
				return store.BatchResult{}, ctx.Err()
			}
			if !mayStart() {
				return store.BatchResult{}, errStopped
			}
			continue
		}
		body := rec.body.Bytes()
		if !wirejson.Valid(body) {
			body, _ = json.Marshal(string(body))
		}
		data, _ := json.Marshal(outputLine{ID: outID, CustomID: ln.in.CustomID,
			Response: &outputResponse{StatusCode: rec.status(), RequestID: reqID, Body: body}})
		return store.BatchResult{Line: i, OK: rec.status() < 300, Data: data}, nil
	}
}

// concurrencyFor is how many lines of b run at once: batch.concurrency,
// or fewer when the batch's key or its tenant has a lower max_concurrent,
// which the batch's lines would otherwise exceed themselves (each refused
// line tried again, and given up after maxTries). Read when the batch
// (re)starts; a store that fails leaves batch.concurrency.
func (r *Runner) concurrencyFor(ctx context.Context, b store.Batch) int {
	n := r.concurrency
	if b.KeyID == "" {
		return n
	}
	if k, err := r.st.GetKey(ctx, b.KeyID); err == nil && k.MaxConcurrent > 0 {
		n = min(n, k.MaxConcurrent)
	}
	if t, err := r.st.GetTenant(ctx, b.TenantID); err == nil && t.MaxConcurrent > 0 {
		n = min(n, t.MaxConcurrent)
	}
	return n
}

// pacer bounds how many lines of a batch are in flight: at most limit,
// which lower can bring down. A line waiting to try again takes a free
// slot before a line not started yet.
type pacer struct {
	mu       sync.Mutex
	limit    int
	inflight int
	retrying int // lines waiting for a slot to try again
	changed  chan struct{}
}

func newPacer(limit int) *pacer {
	return &pacer{limit: max(limit, 1), changed: make(chan struct{})}
}

// notify wakes the waiters; p.mu is held.
func (p *pacer) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// acquire waits for a slot, for a line trying again (retry) or a new one;
// false when ctx ended first.
func (p *pacer) acquire(ctx context.Context, retry bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if retry {
		p.retrying++
		defer func() { p.retrying--; p.notify() }()
	}
	for p.inflight >= p.limit || !retry && p.retrying > 0 {
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			p.mu.Lock()
			return false
		}
		p.mu.Lock()
	}
	p.inflight++
	return true
}

func (p *pacer) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	p.notify()
}

// lower lets one line fewer than are in flight now run at once, for a
// line refused because the others hold what it needs; false (nothing
// lowered) when it is the only one in flight. Each lowering is by one at
// least, so a batch lowers at most batch.concurrency-1 times.
func (p *pacer) lower() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inflight <= 1 {
		return false
	}
	p.limit = min(p.limit, p.inflight-1)
	return true
}

// slot is a line's hold on one of its batch's slots.
type slot struct {
	p    *pacer
	held bool
}

func (s *slot) acquire(ctx context.Context) bool {
	s.held = s.p.acquire(ctx, true)
	return s.held
}

func (s *slot) release() {
	if s.held {
		s.held = false
		s.p.release()
	}
}

// maxRetryAfter is the longest a line waits before its next try.
const maxRetryAfter = 30 * time.Second

// retryAfter reads a Retry-After in seconds, bounded to 1s..maxRetryAfter.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return time.Second
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter)
}

// retryable reports whether an answer is a 429 that a short wait may
// cure: one of the key's rate limits, or a budget whose room requests in
// flight hold (often the batch's own other lines) or that this replica
// enforces only its share of while Redis is down: the guard says so with
// a short Retry-After (1s). A spent budget (a Retry-After past
// spentAfter: the budget's next period; budget_exceeded without one)
// and a request no wait cures (X-Should-Retry: false: bigger than the
// budget) are the line's result at once, rather than minutes of tries
// each.
func retryable(rec *recorder) bool {
	if rec.status() != http.StatusTooManyRequests || strings.EqualFold(rec.header.Get("X-Should-Retry"), "false") {
		return false
	}
	v := rec.header.Get("Retry-After")
	if v == "" && isBudget(rec) {
		return false
	}
	n, err := strconv.Atoi(v)
	return err != nil || time.Duration(n)*time.Second <= spentAfter
}

// spentAfter is the longest Retry-After of a refusal a wait cures: a rate
// limit's (rpm and tpm refill within a minute: a key of rpm 1 is told 60
// s, whose lines were lost when this was maxRetryAfter; found by audit
// Y), where a spent budget's runs to its next period, hours away. A wait
// past maxRetryAfter gives the batch back to the queue (yieldAfter).
const spentAfter = provider.MaxRetryWait

// isBudget reports whether a 429 is a budget's refusal (budget_exceeded)
// rather than a rate limit's.
func isBudget(rec *recorder) bool {
	return gjson.GetBytes(rec.body.Bytes(), "error.code").String() == "budget_exceeded"
}

// refused is line i's result when the batch's key no longer works
// (revoked, expired, its tenant disabled). The refusal is a request of
// its own, as a refused client request is: its usage record (no cost)
// and log line carry the request_id of the line's answer.
func (r *Runner) refused(ctx context.Context, b store.Batch, i int, ln line, d *gateway.Denied) store.BatchResult {
	id := reqid.New()
	r.record(ctx, store.UsageRecord{RequestID: id, Time: r.now(), TenantID: b.TenantID, KeyID: b.KeyID,
		Status: d.Status, ErrorCode: d.Code})
	r.log.Info("batch: line refused, the batch's API key cannot be used", "batch", b.ID, "request_id", id,
		"tenant", b.TenantID, "key_id", b.KeyID, "status", d.Status, "error", d.Code)
	rec := &recorder{header: http.Header{}}
	fail := openAIError
	if ln.in.URL == messagesEndpoint {
		fail = anthropicError
	}
	fail(rec, d.Status, d.Code, d.Type, "the batch's API key cannot be used: "+d.Message)
	data, _ := json.Marshal(outputLine{ID: outputID(b.ID, i), CustomID: ln.in.CustomID,
		Response: &outputResponse{StatusCode: d.Status, RequestID: id, Body: rec.body.Bytes()}})
	return store.BatchResult{Line: i, Data: data}
}

// record hands a usage record to the recorder: written before it returns
// when the recorder can (the line's result is stored as done next, and a
// crash between the two must not leave a line no one has a record of),
// else queued.
func (r *Runner) record(ctx context.Context, rec store.UsageRecord) {
	switch rr := r.rec.(type) {
	case nil:
	case gateway.DurableRecorder:
		rr.Record(ctx, rec)
	default:
		rr.Enqueue(rec)
	}
}

// finalize writes the output and error files of a batch that stopped
// running and moves it to its end status: completed, or cancelled when it
// was cancelled, or expired when lines (the unfinished ones, which
// become error lines) is given, or failed with why when that is given.
func (r *Runner) finalize(ctx context.Context, id string, expiredLines []line, why *lineError) error {
	for {
		b, err := r.st.GetBatch(ctx, "", id)
		if err != nil {
			return err
		}
		o, err := decode(b)
		if err != nil {
			return err
		}
		end := store.BatchCompleted
		switch {
		case b.Status == store.BatchCancelling:
			end = store.BatchCancelled
		case why != nil:
			end = store.BatchFailed
		case expiredLines != nil:
			end = store.BatchExpired
		}
		if b.Status == store.BatchInProgress {
			o.Status, o.FinalizingAt = store.BatchFinalizing, unix(r.now())
			err := r.st.UpdateBatch(ctx, o.encode(b.TenantID, b.KeyID, b.Created), store.BatchInProgress)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			b.Status = store.BatchFinalizing
		}
		if !store.Unfinished(b.Status) {
			return nil
		}
		if err := r.writeFiles(ctx, b, o, expiredLines); err != nil {
			return err
		}
		from := b.Status
		now := unix(r.now())
		o.Status = end
		switch end {
		case store.BatchCompleted:
			o.CompletedAt = now
		case store.BatchCancelled:
			o.CancelledAt = now
		case store.BatchExpired:
			o.ExpiredAt = now
		case store.BatchFailed:
			o.FailedAt = now
			o.Errors = &errorList{Object: "list", Data: []lineError{*why}}
		}
		err = r.st.UpdateBatch(ctx, o.encode(b.TenantID, b.KeyID, b.Created), from)
		if errors.Is(err, store.ErrConflict) {
			continue // cancelled while finalizing: write it as cancelled
		}
		if err != nil {
			return err
		}
		if err := r.st.DeleteBatchResults(ctx, b.ID); err != nil {
			r.log.Warn("batch: could not drop line results", "batch", b.ID, "err", err)
		}
		r.countBatch(end)
		r.log.Info("batch finished", "batch", b.ID, "status", end, "completed", o.RequestCounts.Completed, "failed", o.RequestCounts.Failed)
		return nil
	}
}

// writeFiles stores the output and error files from the line results
// and sets their IDs and the counts on o. Their IDs follow from the
// batch's, so finalizing again after a crash finds them instead of
// writing them twice.
func (r *Runner) writeFiles(ctx context.Context, b store.Batch, o *object, expiredLines []line) error {
	var out, errs bytes.Buffer
	var ok, failed int
	var usage batchUsage
	have := make(map[int]bool)
	err := r.st.BatchResults(ctx, b.ID, func(res store.BatchResult) error {
		have[res.Line] = true
		if res.OK {
			ok++
			usage.add(gjson.GetBytes(res.Data, "response.body.usage"))
			out.Write(res.Data)
			out.WriteByte('\n')
		} else {
			failed++
			errs.Write(res.Data)
			errs.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, ln := range expiredLines {
		if have[i] {
			continue
		}
		data, _ := json.Marshal(outputLine{ID: outputID(b.ID, i), CustomID: ln.in.CustomID,
			Error: &outputError{Code: "batch_expired", Message: "this request could not be executed before the completion window expired"}})
		failed++
		o.ExpiredRequests++
		errs.Write(data)
		errs.WriteByte('\n')
	}
	o.RequestCounts.Completed, o.RequestCounts.Failed = ok, failed
	o.Usage = &usage
	if o.RequestCounts.Total < ok+failed {
		o.RequestCounts.Total = ok + failed
	}
	prefix, hex := kindOf(b.ID)
	put := func(suffix string, content *bytes.Buffer, name string) (*string, error) {
		if content.Len() == 0 {
			return nil, nil
		}
		id := prefix + hex + suffix
		if e := o.OutputExpiresAfter; e != nil {
			id = withExpiry(id, e.Seconds)
		}
		f := store.File{ID: id, TenantID: b.TenantID, Purpose: PurposeOutput,
			Filename: b.ID + "_" + name + ".jsonl", Bytes: int64(content.Len()), Created: r.now()}
		if err := r.st.CreateFile(ctx, f, content.Bytes()); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		return &f.ID, nil
	}
	if o.OutputFileID, err = put("o", &out, "output"); err != nil {
		return err
	}
	o.ErrorFileID, err = put("e", &errs, "error")
	return err
}

// recorder is the http.ResponseWriter a line is served into.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *recorder) Flush() {}

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
