package provider

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Member is a top-level member of a JSON object body to set: Key is a
// plain name (nothing to escape) and Raw is its value as JSON text. When Merge is set and the body already holds the
// member as an object, Merge is called with the old value and returns the
// new one.
type Member struct {
	Key   string
	Raw   []byte
	Merge func(old []byte) ([]byte, error)
}

// SetMembers returns a copy of body, a JSON object, with each member set:
// every top-level occurrence of its key gets the new value (a duplicate key
// cannot smuggle in another value, whichever occurrence the upstream's
// parser keeps) and a missing one is appended. Everything else, unknown
// fields, spacing and key order included, is kept byte for byte. One pass
// over the top-level keys and one allocation, instead of one parse and
// copy per member: this runs on every relayed request. ok is false when
// body is not a JSON object (the inbound parsers have validated it), and set
// holds at most 64 members.
func SetMembers(body []byte, set ...Member) (out []byte, ok bool) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() || len(set) > 64 {
		return nil, false
	}
	type edit struct {
		start, end int
		raw        []byte
	}
	var (
		edits   [8]edit
		ed      = edits[:0]
		found   uint64 // bit i: set[i] was present
		members int
		failed  bool
	)
	root.ForEach(func(k, v gjson.Result) bool {
		members++
		for i := range set {
			if k.Str != set[i].Key {
				continue
			}
			found |= 1 << i
			raw := set[i].Raw
			if set[i].Merge != nil && v.IsObject() {
				var err error
				if raw, err = set[i].Merge([]byte(v.Raw)); err != nil {
					failed = true
					return false
				}
			}
			ed = append(ed, edit{v.Index, v.Index + len(v.Raw), raw})
		}
		return true
	})
	if failed {
		return nil, false
	}
	// Appended members go before the closing brace.
	end := len(bytes.TrimRight(body, " \t\r\n")) - 1
	if end < 0 || body[end] != '}' || (len(ed) > 0 && ed[len(ed)-1].end > end) {
		return nil, false // not a whole object (callers pass validated JSON)
	}
	size := len(body)
	for _, e := range ed {
		size += len(e.raw) - (e.end - e.start)
	}
	for i := range set {
		if found&(1<<i) == 0 {
			size += len(set[i].Key) + len(set[i].Raw) + 4
		}
	}
	out = make([]byte, 0, size)
	at := 0
	for _, e := range ed { // ForEach visits members in order: edits are sorted
		out = append(out, body[at:e.start]...)
		out = append(out, e.raw...)
		at = e.end
	}
	out = append(out, body[at:end]...)
	for i := range set {
		if found&(1<<i) != 0 {
			continue
		}
		if members > 0 {
			out = append(out, ',')
		}
		members++
		out = append(out, '"')
		out = append(out, set[i].Key...)
		out = append(out, '"', ':')
		out = append(out, set[i].Raw...)
	}
	return append(out, body[end:]...), true
}
