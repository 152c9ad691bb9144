package app

import (
	"bytes"
	"encoding/binary"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// testWAV is a silent 16-bit mono WAV file of secs seconds at 24 kHz.
func testWAV(secs int) []byte {
	const rate = 24000
	data := secs * rate * 2
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, struct {
		Size                 uint32
		Format, Channels     uint16
		Rate, ByteRate       uint32
		Align, BitsPerSample uint16
	}{16, 1, 1, rate, rate * 2, 2, 16})
	b.WriteString("data")
	binary.Write(&b, le, uint32(data))
	b.Write(make([]byte, data))
	return b.Bytes()
}

// TestBudgetReservesTranscriptionMinutes: a transcription deployment
// priced per minute reserves against budgets the most seconds its upload
// holds (a WAV file's duration), so a burst of 2-second transcriptions
// ($0.0002 each) on a $0.0005 budget is admitted twice, not all at once.
func TestBudgetReservesTranscriptionMinutes(t *testing.T) {
	simCfg := fastSim()
	for i := range simCfg.Models {
		simCfg.Models[i].Latency = 300 * time.Millisecond
	}
	s := startEditedTenantStack(t, startSim(t, simCfg), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", audioDeployments, 1)
	})
	const budget = 0.0005
	k := s.newKey("acme", admin.KeyCreate{Limits: tenancy.Limits{BudgetDailyUSD: budget}})
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("model", "whisper")
	fw, _ := mw.CreateFormFile("file", "clip.wav")
	fw.Write(testWAV(2))
	mw.Close()

	var (
		mu    sync.Mutex
		codes = map[int]int{}
		spent float64
		wg    sync.WaitGroup
	)
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", s.base+"/v1/audio/transcriptions", bytes.NewReader(form.Bytes()))
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+k.Secret)
			resp, err := s.hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			switch resp.StatusCode {
			case http.StatusOK:
				c, _ := strconv.ParseFloat(resp.Header.Get("X-Switchyard-Cost"), 64)
				spent += c
			case http.StatusTooManyRequests:
				if !strings.Contains(string(b), "budget_exceeded") {
					t.Errorf("refusal %s, want budget_exceeded", b)
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, b)
			}
		})
	}
	close(start)
	wg.Wait()
	if codes[http.StatusOK] != 2 || spent > budget {
		t.Errorf("got %v costing $%v, want two admitted within the budget of $%v", codes, spent, budget)
	}
}
