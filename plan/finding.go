package plan

import (
	"fmt"
	"strings"

	"github.com/mana/personactl/state"
)

// Code names one kind of warning, error or note of a plan, or one reason
// for a change. JSON carries it so that a script never parses English;
// docs/output-formats.md lists every code.
type Code string

// Warnings: they do not stop an apply.
const (
	// CodePartialPlan: --target planned Planned of Total personas.
	CodePartialPlan Code = "partial_plan"
	// CodeTargetNotFound: --target names an address nothing has.
	CodeTargetNotFound Code = "target_not_found"
	// CodeCredentialDrift: Emails got their passwords from another seed
	// secret; the runner cannot log in as them.
	CodeCredentialDrift Code = "credential_drift"
	// CodeNameNeedsReplace: the catalog names Emails[0] CatalogName, live
	// LiveName; only --replace applies a name (destroying History).
	CodeNameNeedsReplace Code = "name_needs_replace"
	// CodeReplaceCreates: --replace names a persona that is not live.
	CodeReplaceCreates Code = "replace_creates"
	// CodeLiveUnreadable: the live persona Emails[0], user UserID, is too
	// large to read, so the plan leaves it alone.
	CodeLiveUnreadable Code = "live_unreadable"
)

// Errors: nothing is applied while one stands.
const (
	// CodeAddressTaken: a Mana user who is not a persona holds Emails[0].
	CodeAddressTaken Code = "address_taken"
	// CodeAddressUndetermined: the users search cannot tell who holds
	// Emails[0]; UserID is the user the state records there, if any.
	CodeAddressUndetermined Code = "address_undetermined"
	// CodeReplaceNotTargeted: --replace names an address --target leaves out.
	CodeReplaceNotTargeted Code = "replace_not_targeted"
	// CodeReplaceNotInCatalog: --replace names an address the catalog lacks.
	CodeReplaceNotInCatalog Code = "replace_not_in_catalog"
)

// Notes: what the plan did not check or cannot know.
const (
	// CodeCredentialsNotChecked: PERSONA_SEED_SECRET is not set and the run
	// needed no password, so no fingerprint was computed.
	CodeCredentialsNotChecked Code = "credentials_not_checked"
	// CodeCredentialsUnknown: no comparable fingerprint is recorded for Emails.
	CodeCredentialsUnknown Code = "credentials_unknown"
	// CodeUnmanagedLeft: a destroy leaves Emails, live personas in neither
	// the catalog nor the recorded state; --all deletes them too.
	CodeUnmanagedLeft Code = "unmanaged_left"
	// CodeCatalogMissing: no catalog file at Catalog, so a destroy deletes
	// the recorded personas only.
	CodeCatalogMissing Code = "catalog_missing"
	// CodeUnfinishedCreate: UserID, at Emails[0], is what Run's create left
	// half made (signed up, not yet a persona); this create completes it.
	CodeUnfinishedCreate Code = "unfinished_create"
)

// Reasons for one change.
const (
	// ReasonRecreated: deleted (by Run, or outside personactl) since the
	// last apply; created again.
	ReasonRecreated Code = "recreated"
	// ReasonAddressTaken, ReasonAddressUndetermined: why a create is blocked.
	ReasonAddressTaken        Code = "blocked_address_taken"
	ReasonAddressUndetermined Code = "blocked_address_undetermined"
	// ReasonReplaceRecordedUser: --replace deletes UserID, recorded at an
	// address the users search cannot tell about, then creates.
	ReasonReplaceRecordedUser Code = "replace_recorded_user"
	// ReasonReplaceRequested: --replace names the persona.
	ReasonReplaceRequested Code = "replace_requested"
	// ReasonRemoved: removed from the catalog.
	ReasonRemoved Code = "removed_from_catalog"
	// ReasonRemovedAndGone: removed from the catalog and already deleted
	// (by Run, or outside personactl): only the state forgets it.
	ReasonRemovedAndGone Code = "removed_and_gone"
	// ReasonGone: already deleted (by Run, or outside personactl): only the
	// state forgets it.
	ReasonGone Code = "gone"
	// ReasonPruned: unmanaged, and --prune given.
	ReasonPruned Code = "pruned"
)

// Finding is one warning, error or note of a plan, or one reason for a
// change: its Code and the data the renderers word it from. Only the
// fields its code uses are set.
type Finding struct {
	Code Code `json:"code"`
	// Emails are the personas it is about, sorted.
	Emails []string `json:"emails,omitempty"`
	// Planned and Total count a partial plan's personas.
	Planned int `json:"planned,omitempty"`
	Total   int `json:"total,omitempty"`
	// LiveName and CatalogName are a name only a replace can apply.
	LiveName    string `json:"live_name,omitempty"`
	CatalogName string `json:"catalog_name,omitempty"`
	// UserID is the user the state records at the address, or the one an
	// interrupted run's create left there.
	UserID string `json:"user_id,omitempty"`
	// Run is the interrupted run that deleted the persona, or that left its
	// create unfinished; "" when it was deleted outside personactl.
	Run string `json:"run,omitempty"`
	// History is what a replace would destroy.
	History *state.History `json:"history,omitempty"`
	// Catalog is the path of a catalog file that is not there.
	Catalog string `json:"catalog,omitempty"`
}

// Message words f for people; every rendering shows this text.
func (f Finding) Message() string {
	email := ""
	if len(f.Emails) > 0 {
		email = f.Emails[0]
	}
	n := len(f.Emails)
	switch f.Code {
	case CodePartialPlan:
		return fmt.Sprintf("Only %d of %d personas were planned (--target); the rest may differ", f.Planned, f.Total)
	case CodeTargetNotFound:
		return fmt.Sprintf("--target=%s: no persona with that address in the catalog, the recorded state or live, so nothing is planned for it; check the spelling", email)
	case CodeCredentialDrift:
		return fmt.Sprintf("%s a password from another seed secret than the one in effect, so the persona runner cannot log in as %s: %s. There are two ways out: restore the PERSONA_SEED_SECRET %s created with, or pass --replace=EMAIL for each, which deletes and re-creates the persona with a password from the current secret and destroys its history; an address whose logins already failed may stay locked for up to 30 minutes after the replace",
			count(n, "persona has", "personas have"), pick(n, "it", "them"), listSome(f.Emails), pick(n, "it was", "they were"))
	case CodeNameNeedsReplace:
		return fmt.Sprintf("%s: name is %q live but %q in the catalog; mana-auth cannot rename a persona, so the name is not applied; pass --replace=%s to delete and re-create it (destroys %s)", email, f.LiveName, f.CatalogName, email, describeHistory(f.History))
	case CodeReplaceCreates:
		return fmt.Sprintf("--replace=%s: the persona does not exist live, so it is simply created", email)
	case CodeLiveUnreadable:
		return fmt.Sprintf("%s (user %s): mana-auth's answer for this persona is too large to read (its prompt must be megabytes long), so its values are unknown and this plan leaves it alone; `personactl destroy --all --target=%s` deletes it by that user id, and the next apply creates it again if the catalog has it", email, f.UserID, email)
	case CodeAddressTaken:
		return fmt.Sprintf("%s is taken by a Mana user who is not a persona: creating it would turn that account into a persona, and a later destroy would delete it with all its data; choose another address in the catalog", email)
	case CodeAddressUndetermined:
		ways := "run again with --live, which reads users.kind from mana-auth's database"
		if f.UserID != "" {
			ways += fmt.Sprintf(", or pass --replace=%s to delete the user recorded as %s first (mana-auth's persona DELETE refuses a user who is not a persona, so this cannot delete a person)", email, f.UserID)
		}
		return fmt.Sprintf("%s: the users search cannot tell who holds this address (mana-auth answers it with a 500 for any account that has signed in, and the persona runner signs in every tick), so personactl will not create over it; %s", email, ways)
	case CodeReplaceNotTargeted:
		return fmt.Sprintf("--replace=%s is not among the --target addresses, so it would not be planned; add --target=%s, or remove the --replace", email, email)
	case CodeReplaceNotInCatalog:
		return fmt.Sprintf("--replace=%s: no persona with that address in the catalog; check the spelling, or remove the flag", email)
	case CodeCredentialsNotChecked:
		return "credentials were not checked: PERSONA_SEED_SECRET is not set for this run; set it to check that the persona runner can log in as the live personas"
	case CodeCredentialsUnknown:
		return fmt.Sprintf("whether the persona runner can log in as %s is unknown: the state records no seed secret fingerprint that can be compared for %s (%s); run `personactl verify` to check and record %s",
			count(n, "persona", "personas"), pick(n, "it", "them"), listSome(f.Emails), pick(n, "it", "them"))
	case CodeUnmanagedLeft:
		return fmt.Sprintf("%s not managed here (in neither this catalog nor this recorded state) %s left: %s; `--all` deletes %s too",
			count(n, "persona", "personas"), pick(n, "was", "were"), listSome(f.Emails), pick(n, "it", "them"))
	case CodeCatalogMissing:
		return fmt.Sprintf("there is no catalog at %s, so this destroy deletes only the personas the recorded state holds; pass --catalog=PATH to delete a catalog's personas too", f.Catalog)
	case CodeUnfinishedCreate:
		return fmt.Sprintf("%s: user %s holds this address but is not a persona: %s signed it up and stopped before it was one (the user was created inside the request window of that create and has never signed in); this create completes it", email, f.UserID, f.Run)
	case ReasonRecreated:
		return "deleted " + f.gone() + " since the last apply; it will be created again"
	case ReasonAddressTaken:
		return "address taken by a Mana user who is not a persona"
	case ReasonAddressUndetermined:
		return "the users search cannot tell who holds this address"
	case ReasonReplaceRecordedUser:
		return fmt.Sprintf("the users search cannot tell who holds this address; --replace given: the user recorded as %s is deleted first (mana-auth refuses if it is not a persona), then the persona is created", f.UserID)
	case ReasonReplaceRequested:
		return "--replace given: deleted and created again"
	case ReasonRemoved:
		return "removed from the catalog"
	case ReasonRemovedAndGone:
		return "removed from the catalog and already deleted " + f.gone()
	case ReasonGone:
		return "recorded, but already deleted " + f.gone()
	case ReasonPruned:
		return "unmanaged, and --prune given"
	}
	return string(f.Code)
}

// gone says who deleted a recorded persona that is not live any more.
func (f Finding) gone() string {
	if f.Run != "" {
		return "by " + f.Run
	}
	return "outside personactl"
}

// Messages words each finding.
func Messages(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Message()
	}
	return out
}

// jsonFinding is a finding in the JSON document: its code, its message,
// then its data.
type jsonFinding struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Finding
}

func jsonFindings(fs []Finding) []jsonFinding {
	out := make([]jsonFinding, len(fs))
	for i, f := range fs {
		out[i] = jsonFinding{Code: f.Code, Message: f.Message(), Finding: f}
	}
	return out
}

// count says "1 persona has" or "3 personas have".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// pick picks the singular or the plural.
func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// listSome lists up to ten addresses, then how many more.
func listSome(emails []string) string {
	const most = 10
	if len(emails) <= most {
		return strings.Join(emails, ", ")
	}
	return strings.Join(emails[:most], ", ") + fmt.Sprintf(" and %d more", len(emails)-most)
}
