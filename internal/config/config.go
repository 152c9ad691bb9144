// Package config loads, validates, redacts and hot-reloads switchyard.yaml,
// the one file that describes providers, deployments, routes and the
// server. main loads it (Load, or Demo when no file is given), keeps the
// current value in a Store, and a Watcher swaps in each new valid version;
// the gateway, router and executor read it through the lookups on Config.
//
// Decoding is strict (an unknown field is an error naming its line),
// defaults are applied in code (defaults.go), secrets are ${ENV} references
// resolved at load time, and validation reports every problem at once with
// its YAML path. Field documentation for users is docs/config.md.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchyard-gw/switchyard/internal/fileread"
)

// Load reads, decodes and validates the file at path, resolving ${ENV}
// references from the process environment.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read: %w", err)
	}
	c, err := parse(data, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// readFile reads the config file: a regular file (a symlink to one is
// fine) of at most MaxConfigFileBytes (fileread.Regular).
func readFile(path string) ([]byte, error) {
	return fileread.Regular(path, MaxConfigFileBytes)
}

// Parse decodes YAML strictly, resolves ${ENV} references with getenv,
// applies defaults and validates the result. Every problem found (decode
// errors by line, then missing variables and invalid values by path) is
// reported in one *ValidationError; errors.As finds it.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	c, err := parse(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func parse(data []byte, getenv func(string) string) (*Config, error) {
	c := newConfig()
	probs, err := decodeStrict(data, c)
	if err != nil {
		return nil, err
	}
	fracProbs := fractionalInts(data)
	envProbs := c.expandSecrets(getenv)
	probs = append(append(probs, fracProbs...), envProbs...)
	c.ApplyDefaults()

	var verr *ValidationError
	if err := c.Validate(); err != nil && !errors.As(err, &verr) {
		return nil, err
	}
	if verr != nil {
		// A field whose ${ENV} failed is reported once, for the variable;
		// a fractional integer once, for its fraction (not for the value
		// it was truncated to).
		failed := make(map[string]bool, len(envProbs)+len(fracProbs))
		for _, p := range slices.Concat(envProbs, fracProbs) {
			failed[p.Path] = true
		}
		for _, p := range verr.Problems {
			if !failed[p.Path] {
				probs = append(probs, p)
			}
		}
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	return c, nil
}

// decodeStrict decodes one YAML document into c, rejecting unknown fields.
// Type errors (unknown fields, bad durations, wrong kinds) come back as
// problems so the rest of the file is still checked; a syntax error, which
// leaves nothing to check, comes back as a *ValidationError.
func decodeStrict(data []byte, c *Config) ([]Problem, error) {
	if probs := mistagged(data); len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if errors.Is(err, io.EOF) {
		return nil, nil // an empty file is an empty config
	}
	var terr *yaml.TypeError
	switch {
	case errors.As(err, &terr):
		probs := make([]Problem, 0, len(terr.Errors))
		duplicate := false
		for _, msg := range terr.Errors {
			probs = append(probs, decodeProblem(msg))
			duplicate = duplicate || duplicateKey.MatchString(msg)
		}
		if duplicate {
			// yaml.v3 decodes nothing of a mapping with a duplicated key
			// (the whole file, for a top-level one), so checking what was
			// decoded would report its fields as missing.
			return nil, &ValidationError{Problems: probs}
		}
		return probs, nil
	case err != nil:
		if m := unknownAnchor.FindStringSubmatch(err.Error()); m != nil {
			// yaml.v3 names the alias, with no line: an unquoted value
			// that begins with *, which may be a secret (master_key:
			// *Xk9...). Find its line; never repeat it.
			p := Problem{Msg: "unknown anchor referenced; quote a value that begins with *"}
			if n := aliasLine(data, m[1]); n > 0 {
				p.Path = "line " + strconv.Itoa(n)
			}
			return nil, &ValidationError{Problems: []Problem{p}}
		}
		return nil, &ValidationError{Problems: []Problem{decodeProblem(err.Error())}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Problems: []Problem{{
			Path: "line " + strconv.Itoa(extra.Line),
			Msg:  "a config file holds one YAML document",
		}}}
	}
	return nil, nil
}

// aliasLine returns the 1-based line of the first alias *name in data (a
// "*name" followed by a space, a flow indicator or the end of the line),
// or 0.
func aliasLine(data []byte, name string) int {
	alias := "*" + name
	for i, line := range strings.Split(string(data), "\n") {
		for rest := line; ; {
			j := strings.Index(rest, alias)
			if j < 0 {
				break
			}
			rest = rest[j+len(alias):]
			if rest == "" || strings.ContainsAny(rest[:1], " \t\r,]}") {
				return i + 1
			}
		}
	}
	return 0
}

// mistagged reports, by line, every scalar whose explicit tag does not fit
// its value (master_key: !!int sk-...). yaml.v3 gives up the whole decode
// at the first one with a message quoting the value in full ("cannot
// decode !!str `sk-...` as a !!int"), and the value may be a secret, so
// the problem is built here from the node's line and tag instead, for
// every such scalar; a tag that fits (!!str "123", !!float 1) is fine. A
// syntax error is left to the strict decode to report.
func mistagged(data []byte) []Problem {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	return appendMistagged(nil, &doc)
}

// knownTags are YAML's own tags, the ones yaml.v3 decodes.
var knownTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!binary": true, "!!timestamp": true, "!!merge": true,
}

func appendMistagged(probs []Problem, n *yaml.Node) []Problem {
	if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!" && !knownTags[n.ShortTag()] {
		// A tag of one's own (master_key: !Xk9..., a value that begins
		// with ! unquoted) would be dropped, leaving the rest of the
		// value, or nothing, and yaml.v3's errors quote it.
		probs = append(probs, Problem{
			Path: "line " + strconv.Itoa(n.Line),
			Msg:  "unknown tag; quote a value that begins with !",
		})
	} else if n.Anchor != "" && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		// An anchor with no value: master_key: &Xk9..., a value that
		// begins with & unquoted, which YAML reads as an anchor on
		// nothing, leaving the key empty (the gateway open) without a
		// word (found by audit AF).
		probs = append(probs, Problem{
			Path: "line " + strconv.Itoa(n.Line),
			Msg:  "an anchor on an empty value; quote a value that begins with &",
		})
	} else if n.Kind == yaml.ScalarNode && n.Style&yaml.TaggedStyle != 0 {
		// Decoding a copy into any runs yaml.v3's own check of the tag
		// against the value (and of a !!binary's base64).
		one := yaml.Node{Kind: yaml.ScalarNode, Tag: n.Tag, Value: n.Value}
		var v any
		if one.Decode(&v) != nil {
			probs = append(probs, Problem{
				Path: "line " + strconv.Itoa(n.Line),
				Msg:  fmt.Sprintf("the value is not a valid %s, as its tag says", n.ShortTag()),
			})
		}
	}
	for _, c := range n.Content {
		probs = appendMistagged(probs, c)
	}
	return probs
}

var (
	lineMsg      = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	duplicateKey = regexp.MustCompile(`^line \d+: mapping key .* already defined at line \d+$`)
	// unknownAnchor is yaml.v3's error for an alias with no anchor,
	// naming it and giving no line.
	unknownAnchor = regexp.MustCompile(`(?s)^(?:yaml: )?unknown anchor '(.*)' referenced$`)
	// invalidKey is a key yaml.v3 cannot use as one, printed with %#v:
	// a whole mapping or list of values.
	invalidKey = regexp.MustCompile(`(?s)^invalid map key:`)
)

// decodeProblem turns a yaml.v3 message into a Problem whose Path is its
// line, rewording the unknown-field message for users who never see Go
// type names. No value from the file is kept (field names are): yaml.v3
// quotes a value between backquotes (a type error's first characters,
// "cannot unmarshal !!str `Zq9xLmP...` into []config.Secret"; a bad tag's
// whole value) and prints a mapping used as a key whole, and a value
// written with the wrong shape may be a secret (api_keys: KEY, without the
// brackets); the line points at it.
func decodeProblem(msg string) Problem {
	path, text := "", strings.TrimPrefix(msg, "yaml: ")
	if m := lineMsg.FindStringSubmatch(msg); m != nil {
		path, text = "line "+m[1], m[2]
	}
	if f := unknownField.FindStringSubmatch(text); f != nil {
		text = fmt.Sprintf("unknown field %q", f[1])
	}
	if invalidKey.MatchString(text) {
		text = "invalid map key: a mapping or a list cannot be a key"
	}
	if i, j := strings.IndexByte(text, '`'), strings.LastIndexByte(text, '`'); i >= 0 {
		if j == i {
			j = len(text) - 1
		}
		text = strings.Join(strings.Fields(text[:i]+" "+text[j+1:]), " ")
	}
	return Problem{Path: path, Msg: text}
}
