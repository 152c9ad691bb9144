package batch

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// A file's own expiry, as OpenAI's API takes it: an upload's
// expires_after, a batch's output_expires_after for its output and error
// files. The anchor is the file's creation; seconds is from an hour to 30
// days.
const (
	anchorCreatedAt = "created_at"
	minExpiresAfter = 3600
	maxExpiresAfter = 30 * 24 * 3600
)

// expiresAfter is an expiration policy of the Files and Batch APIs.
type expiresAfter struct {
	Anchor  string `json:"anchor"`
	Seconds int64  `json:"seconds"`
}

// problem returns the field at fault in a policy whose fields the
// request names anchor and seconds, and what is wrong with it; "" when
// the policy is valid.
func (e expiresAfter) problem(anchor, seconds string) (field, message string) {
	switch {
	case e.Anchor == "":
		return anchor, anchor + " is required (created_at)"
	case e.Anchor != anchorCreatedAt:
		return anchor, anchor + " must be created_at, got " + strconv.Quote(truncate(e.Anchor, 40))
	case e.Seconds < minExpiresAfter || e.Seconds > maxExpiresAfter:
		return seconds, seconds + " must be an integer from 3600 (an hour) to 2592000 (30 days)"
	}
	return "", ""
}

// The store keeps no expiry of a file: its ID, which never changes,
// carries the seconds after its creation it expires (the ID the store
// made it under, then "x" and the seconds), so that every replica reads
// it from the ID alone. IDs are otherwise hex after the prefix, and the
// suffixes "o", "e" and "i": never an "x".
const expirySep = 'x'

// withExpiry is id of a file that expires seconds after its creation.
func withExpiry(id string, seconds int64) string {
	return id + string(expirySep) + strconv.FormatInt(seconds, 10)
}

// ownExpiry is the expiry withExpiry put in id; 0 when it has none.
func ownExpiry(id string) time.Duration {
	i := strings.LastIndexByte(id, expirySep)
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// expiresAt is when f goes: its own expiry, or the retention when that
// comes first; false when neither applies.
func expiresAt(f store.File, retention time.Duration) (time.Time, bool) {
	d := retention
	if own := ownExpiry(f.ID); own > 0 && (d <= 0 || own < d) {
		d = own
	}
	if d <= 0 {
		return time.Time{}, false
	}
	return f.Created.Add(d), true
}

// expired reports whether f is past its expiry at now: the API no longer
// shows it, and the next sweep deletes it.
func expired(f store.File, retention time.Duration, now time.Time) bool {
	at, ok := expiresAt(f, retention)
	return ok && !now.Before(at)
}

// sweepOwnExpiry deletes every tenant's files past their own expiry
// (expires_after, output_expires_after), except the input files of
// unfinished batches, as the retention sweep does; it returns how many
// it deleted. The store lists files by tenant: it reads each tenant's
// file list (the anonymous tenant of static keys too).
func sweepOwnExpiry(ctx context.Context, st store.Store, now time.Time) (int, error) {
	unfinished, err := st.UnfinishedBatches(ctx)
	if err != nil {
		return 0, err
	}
	inputs := make(map[string]bool, len(unfinished))
	for _, b := range unfinished {
		inputs[gjson.GetBytes(b.Doc, "input_file_id").String()] = true
	}
	tenants, err := st.ListTenants(ctx)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(tenants)+1)
	ids = append(ids, "")
	for _, t := range tenants {
		ids = append(ids, t.ID)
	}
	deleted := 0
	for _, tenant := range ids {
		cursor := ""
		for {
			fs, err := st.ListFiles(ctx, tenant, filePrefix, "", cursor, sweepStep)
			if err != nil {
				return deleted, err
			}
			for _, f := range fs {
				own := ownExpiry(f.ID)
				if own <= 0 || now.Before(f.Created.Add(own)) || inputs[f.ID] {
					continue
				}
				if err := st.DeleteFile(ctx, tenant, f.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return deleted, err
				}
				deleted++
			}
			if len(fs) < sweepStep {
				break
			}
			cursor = fs[len(fs)-1].ID
		}
	}
	return deleted, nil
}

// sweepStep is how many files sweepOwnExpiry reads at a time.
const sweepStep = 1000
