// Package kongdoc derives, from a kong model (*kong.Application), what a
// command line offers its users: --help (Help, the command's own flags
// before the global ones, fitted to the terminal's width), the candidates a
// shell completes, the bash, zsh and fish scripts that ask the program for
// them, and the program's man page in roff; and it gives the model's
// commands their detailed help from a text of sections (SetDetails).
//
// It knows nothing of any one program: it holds no list of commands or
// flags, only reads the model it is given, and what the model cannot say (a
// version, a date, the environment variables read outside the flags, the
// exit statuses) comes in a ManPage from the caller.
package kongdoc
