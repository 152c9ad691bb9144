// Package routers ships the trained learned-router files with the binary,
// so the demo config and a config naming "builtin:default" need no file on
// disk. default.json is reproduced by the command in docs/learned-router.md.
package routers

import _ "embed"

//go:embed default.json
var defaultRouter []byte

// Default returns the shipped default router file. The bytes are shared:
// callers must not modify them.
func Default() []byte { return defaultRouter }
