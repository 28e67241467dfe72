package main

// The examples each command's --help ends with. kong prints a command's
// Help() under its one-line help; indented lines are kept as they are.
// Every line that starts with "personactl" is parsed by a test, so an
// example cannot drift from the flags it shows.

// Help is shown by personactl --help.
func (*CLI) Help() string {
	return `Examples:

    # Check the catalog, review the plan, then apply it
    personactl validate
    personactl plan
    personactl apply

    # Against staging, with the state shared in PostgreSQL
    export MANA_AUTH_URL=https://auth.staging.mana.how MANA_ADMIN_JWT=...
    personactl plan --state=postgres://personactl@db/personactl --workspace=staging`
}

// Help is shown by personactl validate --help.
func (*ValidateCmd) Help() string {
	return `Examples:

    personactl validate
    personactl validate --catalog=personas.yaml --strict
    cat catalog.json | personactl validate --catalog=- --catalog-format=json`
}

// Help is shown by personactl plan --help.
func (*PlanCmd) Help() string {
	return `Examples:

    # What would apply change?
    personactl plan

    # In CI: exit 2 when there is something to apply
    personactl plan --detailed-exitcode

    # A Markdown plan for a pull-request comment, saved for a later apply
    personactl plan --format=markdown --out=personas.plan

    # Re-create a persona whose name changed
    personactl plan --replace=ada@personas.mana.how`
}

// Help is shown by personactl apply --help.
func (*ApplyCmd) Help() string {
	return `Examples:

    # Plan, ask, apply
    personactl apply

    # Apply exactly the plan that was reviewed (no question asked)
    personactl plan --out=personas.plan
    personactl apply personas.plan

    # In a deploy job, with JSON Lines progress
    personactl apply --auto-approve --format=json`
}

// Help is shown by personactl destroy --help.
func (*DestroyCmd) Help() string {
	return `Examples:

    # Review what would be deleted, then delete it
    personactl plan --destroy
    personactl destroy

    # Without the question, in a script
    personactl destroy --auto-approve`
}

// Help is shown by personactl drift --help.
func (*DriftCmd) Help() string {
	return `Examples:

    # Exit 2 when a persona was changed outside personactl
    personactl drift

    # As Markdown for a job summary
    personactl drift --format=markdown`
}

// Help is shown by personactl show --help.
func (*ShowCmd) Help() string {
	return `Examples:

    # Render a saved plan again, as JSON
    personactl show personas.plan --format=json

    # Without a plan file: what the state records
    personactl show`
}

// Help is shown by personactl state --help.
func (*StateCmd) Help() string {
	return `Examples:

    personactl state list
    personactl state show ada@personas.mana.how
    personactl state pull --state=postgres://personactl@db/personactl --workspace=staging`
}

// Help is shown by personactl state list --help.
func (*StateListCmd) Help() string {
	return `Examples:

    personactl state list
    personactl state list --state=postgres://personactl@db/personactl --workspace=staging`
}

// Help is shown by personactl state show --help.
func (*StateShowCmd) Help() string {
	return `Examples:

    personactl state show ada@personas.mana.how`
}

// Help is shown by personactl state rm --help.
func (*StateRmCmd) Help() string {
	return `Examples:

    # Stop managing two personas; they stay live
    personactl state rm ada@personas.mana.how grace@personas.mana.how`
}

// Help is shown by personactl state pull --help.
func (*StatePullCmd) Help() string {
	return `Examples:

    # Keep a copy of the recorded state
    personactl state pull > state-backup.json`
}

// Help is shown by personactl state force-unlock --help.
func (*StateForceUnlockCmd) Help() string {
	return `Examples:

    # The lock ID is the one a refused apply named
    personactl state force-unlock 3f2a9c4e`
}

// Help is shown by personactl schema --help.
func (*SchemaCmd) Help() string {
	return `Examples:

    # For editors that validate JSON and YAML against a schema
    personactl schema > personas.schema.json`
}

// Help is shown by personactl version --help.
func (*VersionCmd) Help() string {
	return `Examples:

    personactl version
    personactl version --format=json`
}

// Help is shown by personactl completion --help.
func (*CompletionCmd) Help() string {
	return `Examples:

    # bash: this shell, then every new one
    source <(personactl completion bash)
    personactl completion bash > ~/.local/share/bash-completion/completions/personactl

    # zsh (with compinit loaded)
    personactl completion zsh > "${fpath[1]}/_personactl"

    # fish
    personactl completion fish > ~/.config/fish/completions/personactl.fish`
}

// Help is shown by personactl man --help.
func (*ManCmd) Help() string {
	return `Examples:

    personactl man > personactl.1
    man -l personactl.1`
}

// Help is shown by personactl __complete --help.
func (*CompleteCmd) Help() string {
	return `Examples:

    # What the completion scripts ask on "personactl plan --for<TAB>"
    personactl __complete -- plan --for`
}
