package anthropicapi

import "github.com/tidwall/gjson"

// Untranslated lists, in body order, the top-level fields of a Messages
// API body that a translation for a deployment of another API does not
// carry (top_k, service_tier, and fields this gateway does not know);
// reasoning says whether the target takes reasoning settings (thinking,
// and output_config.effort, named so when the rest of output_config is
// carried). Null fields count as unset. Only a translated request calls
// it: a relayed body keeps every field.
func Untranslated(raw []byte, reasoning bool) []string {
	var out []string
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "model", "messages", "system", "max_tokens", "stream", "temperature", "top_p",
			"stop_sequences", "tools", "tool_choice", "metadata", "output_format":
		case "output_config":
			if e := v.Get("effort"); !reasoning && e.Exists() && e.Type != gjson.Null {
				out = append(out, "output_config.effort")
			}
		case "thinking":
			if !reasoning {
				out = append(out, k.Str)
			}
		default:
			out = append(out, k.Str)
		}
		return true
	})
	return out
}
