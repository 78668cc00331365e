// Shell completion and the man page, generated from the same command definitions as --help,
// so that they can never disagree with it.
import type { Command, Option } from "commander";

interface Described {
  readonly name: string;
  readonly description: string;
  readonly options: readonly Option[];
  readonly args: string;
}

function commandsOf(program: Command): Described[] {
  return program.commands
    .filter((c) => !c.name().startsWith("_"))
    .map((c) => ({
      name: c.name(),
      description: c.description(),
      options: c.options,
      args: c.registeredArguments
        .map((a) =>
          a.required ? `<${a.name()}${a.variadic ? "..." : ""}>` : `[${a.name()}${a.variadic ? "..." : ""}]`,
        )
        .join(" "),
    }));
}

const flags = (o: Option) => [o.short, o.long].filter((f): f is string => Boolean(f));

/** What a shell may offer after an option or as a command's argument (names, ids, versions). */
export interface CompletionValues {
  /** Capability names (libcap's lower-case spelling). */
  readonly capabilities: readonly string[];
  readonly rules: readonly string[];
  readonly kernels: readonly string[];
}
/** The options that take capability names (comma-separated lists complete item by item). */
const CAP_OPTIONS = new Set([
  "--keep",
  "--ambient",
  "--bounding",
  "--drop",
  "--cap",
  "--bounding-drop",
  "--ambient-raise",
  "--ambient-lower",
]);
function optionValues(o: Option, v: CompletionValues): readonly string[] | null {
  if (o.long && CAP_OPTIONS.has(o.long)) return v.capabilities;
  if (o.long === "--kernel") return v.kernels;
  if (o.long === "--engine") return ["docker", "podman", "containerd"];
  if (o.long === "--runtime") return ["runc", "docker"];
  if (o.long === "--kind") return ["kubernetes", "compose", "systemd"];
  if (o.long === "--format") return ["table", "json", "markdown"];
  return null;
}
function argumentValues(command: string, v: CompletionValues): readonly string[] | null {
  if (command === "completion") return ["bash", "zsh", "fish"];
  if (command === "rules") return v.rules;
  return null;
}

/** A completion script for bash, zsh or fish: command names, then each command's options. */
export function completionScript(program: Command, shell: string, values: CompletionValues): string {
  const cmds = commandsOf(program);
  const name = program.name();
  if (shell === "bash") {
    // option values first (capability lists complete after their last comma), then arguments
    const valueCases = new Map<string, string>();
    for (const c of cmds)
      for (const o of c.options) {
        const vals = optionValues(o, values);
        if (vals && o.long) valueCases.set(o.long, vals.join(" "));
      }
    return [
      `# bash completion for ${name} (generated: ${name} completion bash)`,
      `_${name}() {`,
      `  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd=\${COMP_WORDS[1]} pre=""`,
      `  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${cmds.map((c) => c.name).join(" ")} --help --version" -- "$cur")); return; fi`,
      `  case "$cur" in *,*) pre="\${cur%,*},"; cur="\${cur##*,}" ;; esac`,
      `  case "$prev" in`,
      ...[...valueCases].map(
        ([opt, vals]) => `    ${opt}) COMPREPLY=($(compgen -P "$pre" -W "${vals}" -- "$cur")); return ;;`,
      ),
      `  esac`,
      `  case "$cur" in -*) ;; *)`,
      `    case "$cmd" in`,
      ...cmds.flatMap((c) => {
        const vals = argumentValues(c.name, values);
        return vals ? [`      ${c.name}) COMPREPLY=($(compgen -W "${vals.join(" ")}" -- "$cur")); return ;;`] : [];
      }),
      `    esac ;;`,
      `  esac`,
      `  case "$cmd" in`,
      ...cmds.map(
        (c) =>
          `    ${c.name}) COMPREPLY=($(compgen -W "${[...c.options.flatMap(flags), "--help"].join(" ")}" -- "$cur")) ;;`,
      ),
      `  esac`,
      `  [ \${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))`,
      `}`,
      `complete -o filenames -F _${name} ${name}`,
      "",
    ].join("\n");
  }
  if (shell === "zsh") {
    const q = (s: string) => s.replace(/'/g, "'\\''").replace(/[[\]:]/g, "\\$&");
    return [
      `#compdef ${name}`,
      `# zsh completion for ${name} (generated: ${name} completion zsh)`,
      `_${name}() {`,
      `  local -a commands`,
      `  commands=(${cmds.map((c) => `'${c.name}:${q(c.description)}'`).join(" ")})`,
      `  if (( CURRENT == 2 )); then _describe 'command' commands; return; fi`,
      `  case $words[2] in`,
      ...cmds.map(
        (c) =>
          `    ${c.name}) _arguments ${c.options
            .flatMap((o) => {
              const vals = optionValues(o, values);
              const arg =
                o.required || o.optional
                  ? `:${o.long?.replace(/^--/, "") ?? "value"}:${vals ? `(${vals.join(" ")})` : "_files"}`
                  : "";
              return flags(o).map((f) => `'${f}[${q(o.description)}]${arg}'`);
            })
            .join(
              " ",
            )} ${argumentValues(c.name, values) ? `'*:${c.name}:(${argumentValues(c.name, values)?.join(" ")})'` : "'*:file:_files'"} ;;`,
      ),
      `  esac`,
      `}`,
      `_${name} "$@"`,
      "",
    ].join("\n");
  }
  if (shell === "fish") {
    const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
    return [
      `# fish completion for ${name} (generated: ${name} completion fish)`,
      `complete -c ${name} -f`,
      ...cmds.map((c) => `complete -c ${name} -n __fish_use_subcommand -a ${c.name} -d ${q(c.description)}`),
      ...cmds.flatMap((c) =>
        c.options.map(
          (o) =>
            `complete -c ${name} -n '__fish_seen_subcommand_from ${c.name}'${o.long ? ` -l ${o.long.replace(/^--/, "")}` : ""}${o.short ? ` -s ${o.short.replace(/^-/, "")}` : ""}${o.required || o.optional ? " -r" : ""}${optionValues(o, values) ? ` -a ${q(optionValues(o, values)?.join(" ") ?? "")}` : ""} -d ${q(o.description)}`,
        ),
      ),
      ...cmds.flatMap((c) => {
        const vals = argumentValues(c.name, values);
        return vals ? [`complete -c ${name} -n '__fish_seen_subcommand_from ${c.name}' -a ${q(vals.join(" "))}`] : [];
      }),
      "",
    ].join("\n");
  }
  throw new Error(`unknown shell ${shell}`);
}

/** capgate(1) as roff, from the command definitions and their help text. */
export function manPage(program: Command, version: string): string {
  const esc = (s: string) =>
    s
      .replace(/\\/g, "\\e")
      .replace(/^([.'])/gm, "\\&$1")
      .replace(/-/g, "\\-");
  const out = [
    `.TH CAPGATE 1 "" "capgate ${version}" "User Commands"`,
    ".SH NAME",
    `capgate \\- ${esc(program.description())}`,
    ".SH SYNOPSIS",
    ".B capgate",
    "\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]",
    ".SH COMMANDS",
  ];
  for (const c of commandsOf(program)) {
    out.push(".SS", `\\fB${c.name}\\fR ${esc(c.args)}`, esc(c.description));
    for (const o of c.options) out.push(".TP", `\\fB${esc(o.flags)}\\fR`, esc(o.description));
  }
  out.push(
    ".SH EXIT STATUS",
    "0 success; 1 an expectation unmet, a refusal or a disagreement; 2 bad input; 3 a step outside the model; for exec, 126 a program that cannot be executed and 127 one not found.",
    ".SH ENVIRONMENT",
    ".TP",
    "\\fBNO_COLOR\\fR",
    "no colors, whatever else says (https://no\\-color.org).",
    ".TP",
    "\\fBFORCE_COLOR\\fR",
    "colors even when the output is not a terminal.",
    ".TP",
    "\\fBCAPGATE_CACHE\\fR",
    "where capgate verify keeps the kernel runner it builds on first use.",
    ".SH SEE ALSO",
    "\\fBcapabilities\\fR(7), \\fBcapsh\\fR(1), \\fBgetcap\\fR(8), \\fBsetcap\\fR(8), \\fBsetpriv\\fR(1), \\fBpscap\\fR(8)",
    "",
  );
  return out.join("\n");
}
