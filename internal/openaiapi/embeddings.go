package openaiapi

import (
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// bytesPerToken is the byte count charged for each pre-tokenised input
// token, so token-array inputs weigh like text in estimates.
const bytesPerToken = 4

// ParseEmbeddings reads an embeddings request: model and the size of input
// (a string, an array of strings, an array of token ids, or an array of
// token-id arrays). It returns a *BadRequestError when either is missing or
// malformed.
func ParseEmbeddings(body []byte) (*llm.EmbedRequest, error) {
	req, _, err := ParseEmbeddingsInput(body)
	return req, err
}

// EmbeddingsInput is what ParseEmbeddingsInput reads of an embeddings
// request's input beyond its total size.
type EmbeddingsInput struct {
	// LargestBytes is the size of its largest single input (a string or
	// an array of token ids): an embedding model's context window bounds
	// each input, not their sum.
	LargestBytes int
	// TokenIDs: the input is given as token ids (as LangChain sends it),
	// which a model that embeds text only cannot take.
	TokenIDs bool
}

// ParseEmbeddingsInput is ParseEmbeddings, also returning the shape of the
// request's input.
func ParseEmbeddingsInput(body []byte) (*llm.EmbedRequest, EmbeddingsInput, error) {
	var in EmbeddingsInput
	root, err := parseObject(body)
	if err != nil {
		return nil, in, err
	}
	if err := refuseCaseVariants(root, embeddingsFields); err != nil {
		return nil, in, err
	}
	model := root.Get("model")
	if !model.Exists() {
		return nil, in, badRequest("model", "missing required parameter: 'model'")
	}
	name, err := modelValue(model)
	if err != nil {
		return nil, in, err
	}
	input := root.Get("input")
	if !input.Exists() {
		return nil, in, badRequest("input", "missing required parameter: 'input'")
	}
	n, inputs, err := inputBytes(input, &in)
	if err != nil {
		return nil, in, err
	}
	return &llm.EmbedRequest{Model: name, InputBytes: n, Inputs: inputs, Raw: body}, in, nil
}

// inputBytes returns the input's size and how many embeddings it asks
// for: one for a string or an array of tokens, one per element of an
// array of strings or of token arrays. It sets in's largest input.
func inputBytes(input gjson.Result, in *EmbeddingsInput) (size, inputs int, err error) {
	invalid := badRequest("input", "input must be a non-empty string, array of strings, array of tokens, or array of token arrays")
	switch {
	case input.Type == gjson.String:
		if input.Str == "" {
			return 0, 0, invalid
		}
		in.LargestBytes = len(input.Str)
		return len(input.Str), 1, nil
	case !input.IsArray():
		return 0, 0, invalid
	}
	var (
		total, count, largest int
		bad                   bool
	)
	input.ForEach(func(_, v gjson.Result) bool {
		count++
		switch {
		case v.Type == gjson.String:
			total += len(v.Str)
			largest = max(largest, len(v.Str))
		case v.Type == gjson.Number:
			total += bytesPerToken
			in.TokenIDs = true
		case v.IsArray():
			in.TokenIDs = true
			n := 0
			v.ForEach(func(_, t gjson.Result) bool {
				if t.Type != gjson.Number {
					bad = true
					return false
				}
				n += bytesPerToken
				return true
			})
			total += n
			largest = max(largest, n)
		default:
			bad = true
		}
		return !bad
	})
	if bad || count == 0 {
		return 0, 0, invalid
	}
	if input.Get("0").Type == gjson.Number {
		in.LargestBytes = total
		return total, 1, nil // one array of tokens
	}
	in.LargestBytes = largest
	return total, count, nil
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelInfo `json:"data"`
}

type modelInfo struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// WriteModels writes the /v1/models list naming ids (the routes a key may
// use), all owned by "switchyard".
func WriteModels(w http.ResponseWriter, ids []string) error {
	return defaultSource().writeModels(w, ids)
}

// WriteModel writes one model object, the answer of GET /v1/models/{id}.
func WriteModel(w http.ResponseWriter, id string) error {
	body, err := wirejson.Marshal(modelInfo{ID: id, Object: "model", Created: defaultSource().now().Unix(), OwnedBy: "switchyard"})
	if err != nil {
		return fmt.Errorf("openaiapi: encode model: %w", err)
	}
	if err := wirejson.Write(w, http.StatusOK, body); err != nil {
		return fmt.Errorf("openaiapi: write model: %w", err)
	}
	return nil
}

func (s source) writeModels(w http.ResponseWriter, ids []string) error {
	list := modelList{Object: "list", Data: make([]modelInfo, 0, len(ids))}
	created := s.now().Unix()
	for _, id := range ids {
		list.Data = append(list.Data, modelInfo{ID: id, Object: "model", Created: created, OwnedBy: "switchyard"})
	}
	body, err := wirejson.Marshal(list)
	if err != nil {
		return fmt.Errorf("openaiapi: encode models: %w", err)
	}
	if err := wirejson.Write(w, http.StatusOK, body); err != nil {
		return fmt.Errorf("openaiapi: write models: %w", err)
	}
	return nil
}
