// Command ghstub stands in for GitHub's gh command in the tests of the CI
// scripts: it answers the `gh api` calls the scripts make for a pull
// request's comments from a JSON file, and records every call, so that a
// test sees what a workflow would have posted without a network or a token.
//
// GH_STUB_DIR names a directory holding comments.json (the repository's
// issue comments as GitHub lists them; missing means none), pulls.json
// (for each commit, the pull requests GitHub lists for it; missing means
// none) and calls.jsonl (one Call per line, appended). GH_STUB_LOGIN is the login new comments
// are posted as (default github-actions[bot]); GH_STUB_FAIL=METHOD makes
// every call with that method fail as a server error would.
//
// Only what the scripts use is served; anything else is an error, so a
// script that starts calling something new fails its test instead of
// passing against a stand-in that pretends.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Call is one recorded invocation.
type Call struct {
	Args     []string          `json:"args"`
	Method   string            `json:"method"`
	Endpoint string            `json:"endpoint"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// Comment is an issue comment, with the fields GitHub returns that the
// scripts read.
type Comment struct {
	ID       int64  `json:"id"`
	Body     string `json:"body"`
	User     User   `json:"user"`
	IssueURL string `json:"issue_url"`
}

// User is a comment's author.
type User struct {
	Login string `json:"login"`
}

// httpError is an error gh reports for an HTTP status.
type httpError struct {
	status int
	text   string
}

func (e *httpError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.text, e.status) }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "gh: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	dir := os.Getenv("GH_STUB_DIR")
	if dir == "" {
		return errors.New("GH_STUB_DIR is not set; the stand-in needs a directory for its comments and its call log")
	}
	call, err := parse(args)
	if err != nil {
		return err
	}
	if err := record(dir, call); err != nil {
		return err
	}
	if fail := os.Getenv("GH_STUB_FAIL"); fail != "" && strings.EqualFold(fail, call.Method) {
		return &httpError{500, "Server Error"}
	}
	out, err := serve(dir, call)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}

// parse reads `api [flags] ENDPOINT` as gh does, for the flags the
// scripts use. Field values starting with @ are read from that file, so
// the log holds what would have been sent.
func parse(args []string) (Call, error) {
	c := Call{Args: args, Fields: map[string]string{}}
	if len(args) == 0 || args[0] != "api" {
		return c, fmt.Errorf("the stand-in serves only `gh api`, not %q", strings.Join(args, " "))
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--paginate":
		case "-X", "--method":
			v, err := value()
			if err != nil {
				return c, err
			}
			c.Method = strings.ToUpper(v)
		case "-F", "--field", "-f", "--raw-field":
			v, err := value()
			if err != nil {
				return c, err
			}
			k, val, ok := strings.Cut(v, "=")
			if !ok {
				return c, fmt.Errorf("field %q is not key=value", v)
			}
			if (name == "-F" || name == "--field") && strings.HasPrefix(val, "@") {
				b, err := os.ReadFile(val[1:])
				if err != nil {
					return c, fmt.Errorf("reading the value of field %s: %w", k, err)
				}
				val = string(b)
			}
			c.Fields[k] = val
		default:
			if strings.HasPrefix(a, "-") {
				return c, fmt.Errorf("the stand-in does not know flag %s", a)
			}
			if c.Endpoint != "" {
				return c, fmt.Errorf("two endpoints: %s and %s", c.Endpoint, a)
			}
			c.Endpoint = a
		}
	}
	if c.Endpoint == "" {
		return c, errors.New("no endpoint given")
	}
	if c.Method == "" {
		c.Method = "GET"
		if len(c.Fields) > 0 {
			c.Method = "POST" // as gh: parameters switch the default to POST
		}
	}
	return c, nil
}

func record(dir string, c Call) error {
	f, err := os.OpenFile(filepath.Join(dir, "calls.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	line, err := json.Marshal(c)
	if err == nil {
		_, err = f.Write(append(line, '\n'))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

var (
	issueComments = regexp.MustCompile(`^repos/([^/]+/[^/]+)/issues/([0-9]+)/comments$`)
	oneComment    = regexp.MustCompile(`^repos/([^/]+/[^/]+)/issues/comments/([0-9]+)$`)
	commitPulls   = regexp.MustCompile(`^repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls$`)
)

// serve answers the call from comments.json, writing it back after a change.
func serve(dir string, c Call) ([]byte, error) {
	u, err := url.Parse(strings.TrimPrefix(c.Endpoint, "/"))
	if err != nil {
		return nil, err
	}
	if m := commitPulls.FindStringSubmatch(u.Path); m != nil && c.Method == "GET" {
		var pulls map[string]json.RawMessage
		switch b, err := os.ReadFile(filepath.Join(dir, "pulls.json")); {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			if err := json.Unmarshal(b, &pulls); err != nil {
				return nil, fmt.Errorf("pulls.json: %w", err)
			}
		}
		if list, ok := pulls[m[1]]; ok {
			return list, nil
		}
		return []byte("[]"), nil
	}
	path := filepath.Join(dir, "comments.json")
	var comments []Comment
	switch b, err := os.ReadFile(path); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, &comments); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	save := func() error {
		b, err := json.MarshalIndent(comments, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(path, b, 0o600)
	}
	issueURL := func(repo, number string) string {
		return "https://api.github.com/repos/" + repo + "/issues/" + number
	}

	if m := issueComments.FindStringSubmatch(u.Path); m != nil {
		switch c.Method {
		case "GET":
			list := []Comment{}
			for _, cm := range comments {
				if cm.IssueURL == issueURL(m[1], m[2]) {
					list = append(list, cm)
				}
			}
			return json.Marshal(list)
		case "POST":
			body, ok := c.Fields["body"]
			if !ok {
				return nil, &httpError{422, "Validation Failed: body is missing"}
			}
			login := os.Getenv("GH_STUB_LOGIN")
			if login == "" {
				login = "github-actions[bot]"
			}
			var id int64 = 1000
			for _, cm := range comments {
				id = max(id, cm.ID+1)
			}
			cm := Comment{ID: id, Body: body, User: User{Login: login}, IssueURL: issueURL(m[1], m[2])}
			comments = append(comments, cm)
			if err := save(); err != nil {
				return nil, err
			}
			return json.Marshal(cm)
		}
	}
	if m := oneComment.FindStringSubmatch(u.Path); m != nil && c.Method == "PATCH" {
		id, _ := strconv.ParseInt(m[2], 10, 64)
		for i := range comments {
			if comments[i].ID == id && strings.Contains(comments[i].IssueURL, "/repos/"+m[1]+"/") {
				body, ok := c.Fields["body"]
				if !ok {
					return nil, &httpError{422, "Validation Failed: body is missing"}
				}
				comments[i].Body = body
				if err := save(); err != nil {
					return nil, err
				}
				return json.Marshal(comments[i])
			}
		}
		return nil, &httpError{404, "Not Found"}
	}
	return nil, &httpError{404, fmt.Sprintf("Not Found: the stand-in does not serve %s %s", c.Method, c.Endpoint)}
}
