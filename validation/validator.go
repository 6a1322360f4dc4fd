package validation

import "github.com/go-playground/validator/v10"

// validate is the package's one validator; it caches parsed tags and is safe for concurrent use.
// It decides what an email address, a country code and a currency code are, so that this service
// agrees with the rest of the Go ecosystem instead of keeping its own lists.
var validate = validator.New()

// isEmail reports whether s is an address validator's "email" rule accepts.
func isEmail(s string) bool {
	return validate.Var(s, "email") == nil
}

// codeTable returns every upper-case code of the given length (2 or 3) that validator accepts for
// tag, except those in refused, each mapped to itself. validator exports no list, so the 17,576
// candidates are asked once, on first use; afterwards a check is a map lookup that returns a
// shared string, which keeps the per-row path free of allocations.
func codeTable(length int, tag string, refused map[string]bool) map[string]string {
	table := make(map[string]string)
	candidates := 1
	for range length {
		candidates *= 26
	}
	var code [3]byte
	for n := range candidates {
		for pos := length - 1; pos >= 0; pos-- {
			code[pos] = 'A' + byte(n%26)
			n /= 26
		}
		s := string(code[:length])
		if !refused[s] && validate.Var(s, tag) == nil {
			table[s] = s
		}
	}
	return table
}

// lookupCode finds b, in any ASCII case, in a table built by codeTable.
func lookupCode(table map[string]string, b []byte) (string, bool) {
	var key [3]byte
	if len(b) > len(key) {
		return "", false
	}
	for i, c := range b {
		key[i] = upperASCII(c)
	}
	code, ok := table[string(key[:len(b)])]
	return code, ok
}
