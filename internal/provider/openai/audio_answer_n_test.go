package openai

import "testing"

// TestAudioAnswerProblems: what makes an upstream's 200 no audio answer.
func TestAudioAnswerProblems(t *testing.T) {
	for _, tt := range []struct {
		raw, contentType, format string
		bad                      bool
	}{
		{`{"text":"hi"}`, "application/json", "json", false},
		{`{"text":""}`, "application/json", "json", false}, // silence
		{`{"task":"transcribe","text":"hi","segments":[]}`, "application/json; charset=utf-8", "verbose_json", false},
		{`{}`, "application/json", "json", true},
		{`{"text":null}`, "application/json", "json", true},
		{`[]`, "application/json", "", true},
		{`{"text":"hi"}`, "", "json", false}, // untyped, but what was asked
		{"<!doctype html><p>Sign in</p>", "text/html; charset=utf-8", "json", true},
		{"<!doctype html><p>Sign in</p>", "text/html", "text", true},
		{"<html/>", "application/xhtml+xml", "srt", true},
		{"<!doctype html>", "TEXT/HTML", "", true},
		{"hi\n", "text/plain; charset=utf-8", "text", false},
		{"1\n00:00:00,000 --> 00:00:01,000\nhi\n", "text/plain", "srt", false},
		{"WEBVTT\n", "text/vtt", "vtt", false},
		{"hi\n", "text/plain", "json", true},
		{`{"text":"hi"}`, "application/json", "text", false},
		{`{}`, "application/json", "text", true},
	} {
		if got := transcriptProblem([]byte(tt.raw), tt.contentType, tt.format); (got != "") != tt.bad {
			t.Errorf("transcript %q (%s, asked %q): %q, want bad %v", tt.raw, tt.contentType, tt.format, got, tt.bad)
		}
	}
	for _, tt := range []struct {
		raw, contentType string
		bad              bool
	}{
		{"ID3", "audio/mpeg", false},
		{"RIFF", "audio/wav", false},
		{"OggS", "audio/ogg; codecs=opus", false},
		{"\x00\x01", "application/octet-stream", false},
		{"OggS", "application/ogg", false},
		{"", "audio/mpeg", true},
		{"<!doctype html>", "text/html", true},
		{`{"error":null}`, "application/json", true},
		{"ID3", "", true},
		{"data: {}\n\n", "text/event-stream", true},
	} {
		if got := speechProblem([]byte(tt.raw), tt.contentType); (got != "") != tt.bad {
			t.Errorf("speech %q (%s): %q, want bad %v", tt.raw, tt.contentType, got, tt.bad)
		}
	}
}
