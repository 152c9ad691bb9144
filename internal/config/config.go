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
)

// Load reads, decodes and validates the file at path, resolving ${ENV}
// references from the process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read: %w", err)
	}
	c, err := parse(data, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
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

var (
	lineMsg      = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	duplicateKey = regexp.MustCompile(`^line \d+: mapping key .* already defined at line \d+$`)
	// quotedValue is the start of the scalar yaml.v3 quotes in a type
	// error ("cannot unmarshal !!str `Zq9xLmP...` into []config.Secret").
	quotedValue = regexp.MustCompile("(?s)^(cannot unmarshal \\S+) `.*` (into .*)$")
)

// decodeProblem turns a yaml.v3 message into a Problem whose Path is its
// line, rewording the unknown-field message for users who never see Go
// type names. A type error's quoted value is dropped: it may be a secret
// written with the wrong shape (api_keys: KEY, without the brackets), and
// the line already points at it. A message that does not match is kept
// whole.
func decodeProblem(msg string) Problem {
	m := lineMsg.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	text := m[2]
	if f := unknownField.FindStringSubmatch(text); f != nil {
		text = fmt.Sprintf("unknown field %q", f[1])
	}
	if q := quotedValue.FindStringSubmatch(text); q != nil {
		text = q[1] + " " + q[2]
	}
	return Problem{Path: "line " + m[1], Msg: text}
}
