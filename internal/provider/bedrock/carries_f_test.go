package bedrock

import (
	"context"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/provider/providertest"
)

// TestCarriesAgreesWithTranslateOnImages: every image the translation
// refuses (so after the call started) Carries refuses first, so the plan
// skips the deployment; every image the translation takes, Carries takes.
func TestCarriesAgreesWithTranslateOnImages(t *testing.T) {
	for _, tt := range []struct {
		url     string
		carried bool
	}{
		{"data:image/png;base64,iVBORw0KGgo=", true},
		{"data:image/jpeg;name=a.jpg;base64,/9j/4AAQ", true},
		{"data:image/webp;BASE64,UklGRg==", true},
		{"data:image/png,%89PNG%0D%0A", false},
		{"data:image/png;charset=utf-8,%89PNG", false},
		{"data:image/png;base64x,iVBORw0KGgo=", false},
		{"data:image/png", false},
		{"data:image/bmp;base64,Qk0=", false},
		{"https://example.com/cat.png", false},
	} {
		t.Run(tt.url, func(t *testing.T) {
			srv, _ := providertest.Upstream(t, providertest.Reply{Fixture: "converse_text.json"})
			c := newClient(srv, nil)
			req := request(&llm.Body{Messages: []llm.Message{user(text("what is this?"), image(tt.url))}})
			req.HasImages = true
			why := c.Carries(req)
			if (why == "") != tt.carried {
				t.Errorf("Carries = %q, want carried %v", why, tt.carried)
			}
			_, err := c.Chat(context.Background(), req)
			if refused := provider.KindOf(err) == provider.KindBadRequest; refused == tt.carried {
				t.Errorf("Chat = %v, want refused %v", err, !tt.carried)
			}
		})
	}
}
