package config

import "sort"

// Capability names accepted by Capabilities.Has.
const (
	CapChat          = "chat"
	CapVision        = "vision"
	CapTools         = "tools"
	CapJSONMode      = "json_mode"
	CapStreaming     = "streaming"
	CapEmbeddings    = "embeddings"
	CapReasoning     = "reasoning"
	CapModeration    = "moderation"
	CapImages        = "images"
	CapSpeech        = "speech"
	CapTranscription = "transcription"
	CapRealtime      = "realtime"
	CapVideo         = "video"
)

// Has reports whether the capability is on, applying the defaults for
// unset fields: chat, tools and streaming default to true; vision,
// json_mode, embeddings, reasoning, moderation, images, speech,
// transcription, realtime and video to false. An unknown name is false.
func (c Capabilities) Has(name string) bool {
	switch name {
	case CapChat:
		return orDefault(c.Chat, true)
	case CapTools:
		return orDefault(c.Tools, true)
	case CapStreaming:
		return orDefault(c.Streaming, true)
	case CapVision:
		return orDefault(c.Vision, false)
	case CapJSONMode:
		return orDefault(c.JSONMode, false)
	case CapEmbeddings:
		return orDefault(c.Embeddings, false)
	case CapReasoning:
		return orDefault(c.Reasoning, false)
	case CapModeration:
		return orDefault(c.Moderation, false)
	case CapImages:
		return orDefault(c.Images, false)
	case CapSpeech:
		return orDefault(c.Speech, false)
	case CapTranscription:
		return orDefault(c.Transcription, false)
	case CapRealtime:
		return orDefault(c.Realtime, false)
	case CapVideo:
		return orDefault(c.Video, false)
	}
	return false
}

func orDefault(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// resolved returns the capabilities with every default filled in.
func (c Capabilities) resolved() Capabilities {
	b := func(name string) *bool { v := c.Has(name); return &v }
	return Capabilities{
		Chat: b(CapChat), Vision: b(CapVision), Tools: b(CapTools),
		JSONMode: b(CapJSONMode), Streaming: b(CapStreaming), Embeddings: b(CapEmbeddings), Reasoning: b(CapReasoning),
		Moderation: b(CapModeration), Images: b(CapImages),
		Speech: b(CapSpeech), Transcription: b(CapTranscription), Realtime: b(CapRealtime), Video: b(CapVideo),
	}
}

// lookup maps names to slice indexes. It stores indexes, not pointers, and
// each hit is checked against the slice, so a shallow copy of a Config that
// replaced a slice falls back to a scan instead of returning a stale entry.
type lookup struct {
	providers   map[string]int
	deployments map[string]int
	routes      map[string]int
}

func buildIndex(c *Config) *lookup {
	ix := &lookup{
		providers:   make(map[string]int, len(c.Providers)),
		deployments: make(map[string]int, len(c.Deployments)),
		routes:      make(map[string]int, len(c.Routes)),
	}
	// The first of duplicate names wins, matching what Validate reports.
	for i := len(c.Providers) - 1; i >= 0; i-- {
		ix.providers[c.Providers[i].Name] = i
	}
	for i := len(c.Deployments) - 1; i >= 0; i-- {
		ix.deployments[c.Deployments[i].Name] = i
	}
	for i := len(c.Routes) - 1; i >= 0; i-- {
		ix.routes[c.Routes[i].Name] = i
	}
	return ix
}

// find returns the index of name in a slice of n items named by nameAt. It
// uses the map built by Validate when there is one, and scans when there is
// none (a Config that was never validated) or when the map disagrees with
// the slice (a Config changed after Validate, which callers should not do).
func find(m map[string]int, n int, nameAt func(int) string, name string) (int, bool) {
	if m != nil {
		i, ok := m[name]
		if !ok {
			return 0, false
		}
		if i < n && nameAt(i) == name {
			return i, true
		}
	}
	for i := 0; i < n; i++ {
		if nameAt(i) == name {
			return i, true
		}
	}
	return 0, false
}

// Deployment returns the deployment with the given name. Lookups use maps
// built by Validate (which Load, Parse and Demo run); the result points into
// c and must not be modified.
func (c *Config) Deployment(name string) (*Deployment, bool) {
	var m map[string]int
	if c.index != nil {
		m = c.index.deployments
	}
	i, ok := find(m, len(c.Deployments), func(i int) string { return c.Deployments[i].Name }, name)
	if !ok {
		return nil, false
	}
	return &c.Deployments[i], true
}

// Provider returns the provider with the given name; see Deployment.
func (c *Config) Provider(name string) (*Provider, bool) {
	var m map[string]int
	if c.index != nil {
		m = c.index.providers
	}
	i, ok := find(m, len(c.Providers), func(i int) string { return c.Providers[i].Name }, name)
	if !ok {
		return nil, false
	}
	return &c.Providers[i], true
}

// Route returns the route with the given name; see Deployment.
func (c *Config) Route(name string) (*Route, bool) {
	var m map[string]int
	if c.index != nil {
		m = c.index.routes
	}
	i, ok := find(m, len(c.Routes), func(i int) string { return c.Routes[i].Name }, name)
	if !ok {
		return nil, false
	}
	return &c.Routes[i], true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
