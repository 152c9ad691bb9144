package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// BenchmarkInsertUsage is the usage ledger's write: batches of records as
// a busy gateway produces them (time-ordered request ids), into a WAL file.
// ns/op is per record.
//
//	go test -run '^$' -bench InsertUsage -benchmem ./internal/store/sqlite
func BenchmarkInsertUsage(b *testing.B) {
	for _, batch := range []int{50, 500} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatalf("open: %v", err)
			}
			defer s.Close()
			recs := make([]store.UsageRecord, batch)
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				for j := range recs {
					recs[j] = store.UsageRecord{
						RequestID: reqid.New(), Time: now.Add(time.Duration(i+j) * time.Microsecond),
						TenantID: "ten_a", KeyID: "key_a", Route: "auto", Policy: "fallback", Reason: "first healthy target",
						Deployment: "bench", Model: "bench", Attempts: 1, Status: 200, InputTokens: 8, OutputTokens: 16,
						CostUSD: 0.0001, Latency: time.Millisecond, TTFT: time.Millisecond / 2, Stream: true,
					}
				}
				if err := s.InsertUsage(b.Context(), recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
