package app

import (
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
)

// lineWriter writes the lines of serve's logger that appendLine can
// encode, and serializes every Write to w, its own and the JSON
// handler's, so that lines from the two never interleave.
//
// Why an encoder of our own: every client request writes a line of 25
// attributes, 5–7% of a streamed request's CPU, and slog's JSON handler
// escaped each key and string a byte at a time and called encoding/json
// for each float. With appendLine a line takes about 18k instructions
// instead of 36k (BenchmarkRequestLine; most of the rest is slog.Logger's:
// the caller's PC, the Record). It encodes only the records it writes
// exactly as the handler would (FuzzLogLine holds it to the handler);
// any other goes to the handler.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// linePool holds line buffers; like slog's, only small ones go back.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// handle writes r when appendLine can encode it, and reports whether it
// did.
func (lw *lineWriter) handle(r slog.Record) (bool, error) {
	bp := linePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 16<<10 {
			linePool.Put(bp)
		}
	}()
	b, ok := appendLine((*bp)[:0], r)
	*bp = b
	if !ok {
		return false, nil
	}
	_, err := lw.Write(b)
	return true, err
}

// appendLine appends r as slog.NewJSONHandler writes it with no
// ReplaceAttr, no AddSource and no attributes or groups added by
// WithAttrs or WithGroup, and reports true; or reports false for a record
// it does not encode: an attribute of another kind than string, int,
// uint, float or bool, a float JSON cannot hold, a key or string with a
// byte that needs escaping (a quote, a backslash, a control byte, any
// non-ASCII byte), an empty key, or a time outside years 0–9999.
func appendLine(b []byte, r slog.Record) ([]byte, bool) {
	b = append(b, '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	var ok bool
	if b, ok = appendPlain(b, r.Level.String()); !ok {
		return b, false
	}
	b = append(b, `,"msg":`...)
	if b, ok = appendPlain(b, r.Message); !ok {
		return b, false
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" {
			ok = false
			return false
		}
		b = append(b, ',')
		if b, ok = appendPlain(b, a.Key); !ok {
			return false
		}
		b = append(b, ':')
		v := a.Value
		switch v.Kind() {
		case slog.KindString:
			b, ok = appendPlain(b, v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindFloat64:
			b, ok = appendFloat(b, v.Float64())
		default:
			ok = false
		}
		return ok
	})
	if !ok {
		return b, false
	}
	return append(b, "}\n"...), true
}

// appendPlain appends s quoted when no byte of it needs escaping in JSON
// (printable ASCII but for the quote and the backslash), and reports
// whether it did.
func appendPlain(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// plain says which bytes a JSON string holds as they are: printable ASCII
// but for the quote and the backslash (a table: one load a byte).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendFloat appends f as encoding/json does, which is what the JSON
// handler calls for a float: ES6 number formatting, exponents past its
// cutoffs without leading zeros. NaN and the infinities are not JSON.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 is written e-7
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
