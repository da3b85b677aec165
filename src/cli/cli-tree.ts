/**
 * The command tree as plain data, read from commander's help (the same text
 * `--help` prints), for the generated shell completions and manual page:
 * every command path with its description, usage, arguments and options.
 * A command added to main.ts appears in both without any change here.
 */
import type { Command } from 'commander';

export interface CliOption {
  /** As help shows it: "-c, --config <file>". */
  flags: string;
  short: string | null;
  long: string | null;
  /** The option takes a value (`<x>` or `[x]`). */
  takesValue: boolean;
  /** The values it accepts, when they are a fixed list. */
  choices: string[] | null;
  /** The value names a file (its placeholder says file, dir or path). */
  file: boolean;
  /** The description help prints, with the default and choices. */
  description: string;
}

export interface CliArgument {
  /** As help shows it: "<file>", "<domains...>". */
  term: string;
  description: string;
  choices: string[] | null;
}

export interface CliCommand {
  /** The words after the program name: [] for the program, ["certs", "request"]. */
  path: string[];
  /** As help shows it: "haproxy-manager certs request [options] <domains...>". */
  usage: string;
  description: string;
  subcommands: string[];
  arguments: CliArgument[];
  options: CliOption[];
}

/** Every command, the program first, depth-first in the order they were registered. */
export function cliTree(root: Command): CliCommand[] {
  const out: CliCommand[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const help = cmd.createHelp();
    const subs = help.visibleCommands(cmd).filter((c) => c.name() !== 'help');
    out.push({
      path,
      usage: help.commandUsage(cmd),
      description: help.commandDescription(cmd),
      subcommands: subs.map((c) => c.name()),
      arguments: help.visibleArguments(cmd).map((a) => ({ term: help.argumentTerm(a), description: help.argumentDescription(a), choices: a.argChoices ?? null })),
      options: help.visibleOptions(cmd).map((o) => ({
        flags: help.optionTerm(o),
        short: o.short ?? null,
        long: o.long ?? null,
        takesValue: o.required || o.optional,
        choices: o.argChoices ?? null,
        file: /<(file|dir|[\w.-]*\.cfg|path)>/.test(o.flags),
        description: help.optionDescription(o),
      })),
    });
    for (const c of subs) walk(c, [...path, c.name()]);
  };
  walk(root, []);
  return out;
}
