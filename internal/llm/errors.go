package llm

// BadRequestError is a client request that failed validation, in any
// dialect. The gateway answers it with status 400 in the dialect's error
// format (openaiapi.ErrorFor, anthropicapi.ErrorFor); both dialect packages
// name it BadRequestError too.
type BadRequestError struct {
	// Param names the offending field in the dialect's own notation
	// ("messages[2].role" for OpenAI, "messages.2.role" for Anthropic), or
	// is empty when the whole body is at fault.
	Param string
	// Message says what is wrong; it is safe to show the client and never
	// contains prompt text.
	Message string
}

func (e *BadRequestError) Error() string {
	if e.Param == "" {
		return "bad request: " + e.Message
	}
	return "bad request: " + e.Param + ": " + e.Message
}
