// Package descscan flags (never blocks) the known prompt-injection patterns in the
// descriptions of MCP tools, prompts and resources: text that addresses the model, hidden
// Unicode, markup that hides text, and very long descriptions. Every rule is in this file,
// each with a positive and a negative example in rules_test.go.
package descscan

import (
	"regexp"
	"unicode/utf8"
)

// Flags, as the API names them (DescriptionFlag).
const (
	Instructions  = "instructions"
	HiddenUnicode = "hidden_unicode"
	HiddenMarkup  = "hidden_markup"
	Long          = "long"
)

// MaxDescription is the length (in characters) past which a description is flagged Long.
const MaxDescription = 2000

// instructions: text that speaks to the model rather than describing the tool — overriding
// its instructions, keeping things from the user, or reaching for secrets.
var instructions = regexp.MustCompile(`(?is)` +
	`\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+)?(previous|prior|above|earlier|other|system)\s+(instructions|prompts?|rules|directions)` +
	`|\b(do\s+not|don'?t|never)\s+(tell|inform|mention|reveal|show|disclose)\b.{0,40}\b(the\s+)?user\b` +
	`|<\s*/?\s*(important|system|instructions?)\s*>` +
	`|\bbefore\s+(using|calling)\s+(this|any)\s+tool\b.{0,80}\b(read|send|call|pass|include)\b` +
	`|\b(read|cat|open|send|upload|forward|exfiltrate|include)\b.{0,60}(~/\.ssh|id_rsa|\.env\b|/etc/passwd|private\s+key|api[\s_-]?keys?|passwords?|credentials)` +
	`|\byou\s+(must|should)\s+(always|now|first)\b` +
	`|\b(as|you\s+are)\s+(an?\s+)?(ai|assistant|language\s+model)\b.{0,40}\b(must|should|will)\b`)

// hiddenUnicode: characters a person does not see but a model reads — Unicode tag
// characters (U+E0000–U+E007F), bidirectional overrides and isolates, zero-width characters.
var hiddenUnicode = regexp.MustCompile("[\U000E0000-\U000E007F\u202A-\u202E\u2066-\u2069\u200B-\u200D\u2060\u2062-\u2064\uFEFF\u180E]")

// hiddenMarkup: HTML or Markdown that hides text from a rendered view — comments, hidden
// elements or styles, collapsed details, Markdown comments.
var hiddenMarkup = regexp.MustCompile(`(?is)<!--` +
	`|<[a-z][^>]*\bstyle\s*=\s*["'][^"']*(display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0[^.])` +
	`|<[a-z][^>]*\shidden(\s|=|>|/)` +
	`|<details\b` +
	`|^\s*\[[^\]]*\]:\s*#`)

// Text returns the flags of one piece of text (a title, a parameter's description).
func Text(s string) []string {
	var out []string
	if instructions.MatchString(s) {
		out = append(out, Instructions)
	}
	if hiddenUnicode.MatchString(s) {
		out = append(out, HiddenUnicode)
	}
	if hiddenMarkup.MatchString(s) {
		out = append(out, HiddenMarkup)
	}
	return out
}

// Description returns the flags of an item's description: Text's, and Long past
// MaxDescription characters.
func Description(s string) []string {
	out := Text(s)
	if utf8.RuneCountInString(s) > MaxDescription {
		out = append(out, Long)
	}
	return out
}
