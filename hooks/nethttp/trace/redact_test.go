package trace

import (
	"math/rand"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestRedactedURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://user:secret@h/p?q=1", "http://h/p?q=1"},
		{"http://h/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Security-Token=tok&X-Amz-SignedHeaders=host&x-id=GetObject&X-Amz-Signature=abc123",
			"http://h/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=redacted&X-Amz-Date=20260101T000000Z&X-Amz-Security-Token=redacted&X-Amz-SignedHeaders=host&x-id=GetObject&X-Amz-Signature=redacted"},
		{"http://h/k?AWSAccessKeyId=AKID&Expires=1&Signature=abc", "http://h/k?AWSAccessKeyId=redacted&Expires=1&Signature=redacted"},
		{"http://h/k?MySignature=keep&q=Signature=keep", "http://h/k?MySignature=keep&q=Signature=keep"},
	} {
		r, err := http.NewRequest("GET", tc.in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactedURL(r); got != tc.want {
			t.Errorf("redactedURL(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
		// A server sees the same URL without scheme and host.
		want := strings.TrimPrefix(tc.want, "http://h")
		if got := redactedRequestURI(r.URL); got != want {
			t.Errorf("redactedRequestURI(%s)\n got %s\nwant %s", tc.in, got, want)
		}
	}
}

// signedQuery is what redactedQuery does, as a regular expression.
var signedQuery = regexp.MustCompile(`(?i)((?:^|&)(?:X-Amz-(?:Credential|Signature|Security-Token)|AWSAccessKeyId|Signature)=)[^&]*`)

// TestRedactedQueryRegexp checks the hand-written scan against the
// regular expression on queries made of pieces that matter.
func TestRedactedQueryRegexp(t *testing.T) {
	pieces := []string{"&", "&&", "=", "==", "x", "x-amz-signature", "X-Amz-Credential", "X-AMZ-SECURITY-TOKEN",
		"awsaccesskeyid", "Signature", "MySignature", "%26", ";", "a=b", "Signature="}
	rng := rand.New(rand.NewSource(1))
	for range 20000 {
		var b strings.Builder
		for range rng.Intn(8) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		q := b.String()
		want := signedQuery.ReplaceAllString(q, "${1}redacted")
		if got := redactedQuery(q); got != want {
			t.Fatalf("redactedQuery(%q) = %q, want %q", q, got, want)
		}
	}
}
