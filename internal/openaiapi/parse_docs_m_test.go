package openaiapi

import (
	"strings"
	"testing"
)

// TestFileAndAudioPartsCount: file and input_audio parts count in
// TextBytes (the input token estimate), by the length of their base64 data.
func TestFileAndAudioPartsCount(t *testing.T) {
	data := strings.Repeat("QUJD", 8000) // 24,000 bytes decoded
	for _, tt := range []struct {
		name, part string
		want       int
	}{
		{"text data URL", `{"type":"file","file":{"filename":"a.txt","file_data":"data:text/plain;base64,` + data + `"}}`, 24000},
		{"pdf data URL", `{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,` + data + `"}}`, 3000},
		{"bare base64 named .md", `{"type":"file","file":{"filename":"notes.md","file_data":"` + data + `"}}`, 24000},
		{"bare base64 named .pdf", `{"type":"file","file":{"filename":"a.pdf","file_data":"` + data + `"}}`, 3000},
		{"file id", `{"type":"file","file":{"file_id":"file-abc"}}`, 0},
		{"wav", `{"type":"input_audio","input_audio":{"format":"wav","data":"` + data + `"}}`, 28},
		{"mp3", `{"type":"input_audio","input_audio":{"format":"mp3","data":"` + data + `"}}`, 60},
	} {
		body := `{"model":"m","messages":[{"role":"user","content":[` + tt.part + `,{"type":"text","text":"hi"}]}]}`
		req, err := ParseChat([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := req.TextBytes - len("hi"); got != tt.want || req.LastUserText != "hi" {
			t.Errorf("%s: got %d text bytes, last user text %q; want %d and %q", tt.name, got, req.LastUserText, tt.want, "hi")
		}
	}
}
