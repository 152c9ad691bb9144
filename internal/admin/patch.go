package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// PATCH bodies are JSON merge patches (RFC 7396): the fields sent replace
// the object's and the fields left out are kept, also inside `limits`,
// where each limit is a field of its own. A null would remove a field;
// only the fields decodePatch is told may be removed take one, and any
// other null is refused: a limit removed would be unlimited, which only
// an explicit 0 makes it.

// LimitsPatch is `limits` in a PATCH body: the limits sent (0 is
// unlimited) replace the current ones, the others are kept.
type LimitsPatch struct {
	RPM              *int     `json:"rpm,omitempty"`
	TPM              *int     `json:"tpm,omitempty"`
	MaxConcurrent    *int     `json:"max_concurrent,omitempty"`
	BudgetDailyUSD   *float64 `json:"budget_daily_usd,omitempty"`
	BudgetMonthlyUSD *float64 `json:"budget_monthly_usd,omitempty"`
}

// Merge returns l with the limits of p that were sent; a nil p is no
// change.
func (p *LimitsPatch) Merge(l tenancy.Limits) tenancy.Limits {
	if p == nil {
		return l
	}
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setF := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&l.RPM, p.RPM)
	set(&l.TPM, p.TPM)
	set(&l.MaxConcurrent, p.MaxConcurrent)
	setF(&l.BudgetDailyUSD, p.BudgetDailyUSD)
	setF(&l.BudgetMonthlyUSD, p.BudgetMonthlyUSD)
	return l
}

// Expiry is expires_at in a PATCH body: left out (the zero Expiry) it
// keeps the key's expiry, null removes it (the key never expires) and a
// time replaces it.
type Expiry struct {
	// Set says the field was sent, as a time or as null.
	Set bool
	// At is the time sent; nil for null.
	At *time.Time
}

// ExpireAt is the Expiry that sets the expiry to t.
func ExpireAt(t time.Time) Expiry { return Expiry{Set: true, At: &t} }

// NeverExpire is the Expiry that removes the expiry.
func NeverExpire() Expiry { return Expiry{Set: true} }

// IsZero reports whether e was left out (for omitzero).
func (e Expiry) IsZero() bool { return !e.Set }

// UnmarshalJSON implements json.Unmarshaler; a null is called too.
func (e *Expiry) UnmarshalJSON(b []byte) error {
	*e = Expiry{Set: true}
	if isNull(b) {
		return nil
	}
	var t time.Time
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	e.At = &t
	return nil
}

// MarshalJSON implements json.Marshaler.
func (e Expiry) MarshalJSON() ([]byte, error) {
	if e.At == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*e.At)
}

// decodePatch reads a PATCH body strictly into v, as decode does, and
// refuses a null for any field but the removable ones (top-level names).
func decodePatch(w http.ResponseWriter, r *http.Request, v any, removable ...string) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if err := decodeJSON(bytes.NewReader(body), v); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil // not an object: v's type refused it already
	}
	var limits map[string]json.RawMessage
	_ = json.Unmarshal(fields["limits"], &limits)
	for _, name := range sortedKeys(limits) {
		if isNull(limits[name]) {
			return errBad("limits." + name + " may not be null: send 0 for unlimited, or leave it out to keep it")
		}
	}
	for _, name := range sortedKeys(fields) {
		if isNull(fields[name]) && !slices.Contains(removable, name) {
			return errBad(name + " may not be null: leave it out to keep it")
		}
	}
	return nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
