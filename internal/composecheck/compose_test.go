// Package composecheck validates the repository's compose.yaml with the
// Compose specification's own loader and schema (compose-go), since no
// Docker engine is at hand to try it. It is a module of its own so that
// ottoolexec's module, whose requirements the traced runtime shares, does
// not require compose-go.
package composecheck

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

func TestComposeFile(t *testing.T) {
	path, err := filepath.Abs(filepath.Join("..", "..", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("ottoolexec"), cli.WithOsEnv)
	if err != nil {
		t.Fatal(err)
	}
	// Loading validates against the Compose schema and resolves every
	// service; an unknown key, a bad port or a wrong type is an error.
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	// Jaeger, and every service an integration's tests talk to.
	want := map[string]string{
		"jaeger":     "16686",
		"postgres":   "5432",
		"mariadb":    "3306",
		"redis":      "6379",
		"rabbitmq":   "5672",
		"nats":       "4222",
		"localstack": "4566",
	}
	for name, port := range want {
		svc, ok := project.Services[name]
		if !ok {
			t.Errorf("compose.yaml has no %s service", name)
			continue
		}
		if svc.Image == "" {
			t.Errorf("service %s has no image", name)
		}
		var published []string
		for _, p := range svc.Ports {
			published = append(published, p.Published)
		}
		if !slices.Contains(published, port) {
			t.Errorf("service %s publishes %v, want %s", name, published, port)
		}
	}
	// The tests connect to PostgreSQL as root without a password.
	if env := project.Services["postgres"].Environment; env["POSTGRES_USER"] == nil || *env["POSTGRES_USER"] != "root" {
		t.Errorf("postgres: POSTGRES_USER is not root")
	}
}
