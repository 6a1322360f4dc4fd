package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// versionCommand is `invoice-ingest version`.
func versionCommand(_ context.Context, args []string, e env) error {
	fs := newFlags("version", "", `Print the version and build information of this binary: the module version, the commit it
was built from (vcs.revision, vcs.time, vcs.modified, when the build recorded them) and the Go
version.`)
	if err := fs.noArgs(args, e.stdout); err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{GoVersion: runtime.Version()}
	}
	printVersion(e.stdout, info)
	return nil
}

// printVersion prints the first line "invoice-ingest VERSION", then one "key: value" line for
// each piece of build information present.
func printVersion(w io.Writer, info *debug.BuildInfo) {
	version := info.Main.Version
	if version == "" {
		version = "(unknown)"
	}
	fmt.Fprintf(w, "invoice-ingest %s\n", version)
	if info.Main.Path != "" {
		fmt.Fprintf(w, "module: %s\n", info.Main.Path)
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified":
			fmt.Fprintf(w, "%s: %s\n", s.Key, s.Value)
		}
	}
	fmt.Fprintf(w, "go: %s\n", info.GoVersion)
	fmt.Fprintf(w, "platform: %s/%s\n", runtime.GOOS, runtime.GOARCH)
}
