import { Command, CommanderError, Option } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CapgateInputError, CapgateSystemError } from "../errors.js";
import { errorLine } from "./escape.js";
import { flushNotes } from "./profile.js";
import { completionScript, manPage } from "./docs.js";
import { playgroundCommand } from "./playground.js";
import { UsageError } from "./errors.js";
import { CAPABILITIES } from "../capabilities/table.js";
import { RULES } from "../rules/catalog.js";
import { PROFILE_MILESTONES } from "../kernel/profiles.js";
import { simulateCommand, type SimulateOptions } from "./simulate.js";
import { capsCommand, rulesCommand } from "./tables.js";

import { showCommand, decodeCommand } from "./kernel.js";
import { verifyCommand, type VerifyOptions } from "./verify.js";
import { explainCommand, type ExplainOptions } from "./explain.js";
import { fileCommand } from "./file.js";
import { lintCommand } from "./lint.js";
import { containerCommand, type ContainerOptions } from "./container.js";
import { execCommand, type ExecOptions } from "./exec.js";
import { watchCommand, type WatchOptions } from "./watch.js";
// Exit codes: 0 success, 1 an expectation unmet or a disagreement, 2 usage or input error.

/** Where a document of the package's docs/ is on this machine (the package ships docs/). */
function docPath(name: string): string {
  return fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url));
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

/** exec's options, shared with plan (which is exec --dry-run under its own name). */
function execOptions(command: Command): Command {
  return command
    .option(
      "--user <user>",
      "run as this user (name or uid), with its primary group and groups from the user database; capabilities are kept across the change",
    )
    .option("--group <group>", "run with this gid (name or number) instead of the user's primary group")
    .option("--groups <groups>", "the supplementary groups, exactly these (names or numbers, comma-separated)")
    .option("--clear-groups", "no supplementary groups")
    .option("--keep-groups", "keep this process's supplementary groups across the uid change (never the default)")
    .option(
      "--keep <caps>",
      "capabilities the program holds, permitted and effective (the planner uses ambient where execve would drop them otherwise, so the plan is often the same as --ambient's)",
    )
    .option(
      "--ambient <caps>",
      "capabilities the program holds as ambient too, always (so the programs it runs keep them as well)",
    )
    .option("--bounding <caps>", "the program's bounding set, exactly")
    .option("--drop <caps>", "capabilities out of the program's bounding set")
    .option("--no-new-privs", "set no_new_privs")
    .option("--secbits <bits>", "securebits to set (SECBIT_NOROOT,...)")
    .option("--no-regain", "make sure no later exec can grant the program anything more")
    .option("--dry-run", "print the plan and the program's predicted state; run nothing")
    .option("--scenario", "print the plan as a scenario file (with expectations) for capgate simulate")
    .option(
      "--json",
      "print the plan as JSON: on stdout with --dry-run, else on stderr (or --json-fd) so stdout stays the program's",
    )
    .option("--json-fd <fd>", "with --json: write the plan to this descriptor instead of stderr")
    .option("--quiet", "do not print the plan or warnings on stderr before running")
    .option(
      "--reset-env",
      "a clean environment, like setpriv's: TERM kept; HOME, USER, LOGNAME, SHELL from the user database; PATH",
    )
    .option(
      "--keep-fds <fds>",
      "descriptors above 2 the program inherits (e.g. 3,4); every other one is closed (LISTEN_FDS for this pid passes too)",
    )
    .option(
      "--capabilities <spec>",
      "Tracee's form: add=cap_x,cap_y | drop=cap_z | bypass=true (repeatable); the CAPABILITIES_BYPASS variable is ignored",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
}

export function buildProgram(): Command {
  const program = new Command("capgate")
    .description(
      "A kernel-exact model of Linux process capabilities: simulate, pre-flight and explain capset, prctl, setuid and execve.",
    )
    .version(version(), "-v, --version", "print the version (also -V)")
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // commander's own usage errors: one line, like every other error
      outputError: (s, write) =>
        // commander's "(Did you mean man?)" comes on a line of its own: one line, no escaped newline
        write(`capgate: ${errorLine(
          s
            .trim()
            .replace(/^error: /, "")
            .replace(/\s*\n\s*/g, " "),
        )} (see --help)
`),
    })
    .exitOverride()
    .enablePositionalOptions();

  program
    .command("simulate")
    .description(
      `Run scenario files (described in ${docPath("SCENARIOS.md")}) on the engine and check their expectations.`,
    )
    .argument("<file...>", "scenario JSON files, or - for standard input")
    .option("--json", "print the result document instead of a table (a list of them for several files)")
    .addOption(new Option("--format <format>", "table, json or markdown (a table to paste into notes or a PR comment)"))
    .option("--junit <file>", "also write a JUnit XML report: one testcase per step with an expectation")
    .option("--tap", "print TAP instead of a table")
    .option("--github", "also print GitHub workflow annotations at the failing steps' lines")
    .addOption(new Option("--kernel <version>", "override the scenarios' kernel profile (e.g. 6.12)"))
    .addHelpText(
      "after",
      `
A state's fields all have defaults (a root shell with every capability); one that gives
"permitted" and not "effective" means effective = permitted. "kernel" takes MAJOR.MINOR or
what uname -r prints.

Exit status: 0 every expectation met, 1 one is not, 2 bad input, 3 a step outside the model.

Examples:
  capgate simulate examples/capset-permitted-grows.json
  capgate simulate examples/ambient-keep-across-setuid.json --json
  capgate simulate examples/*.json --junit capgate.xml --github
  capgate simulate examples/ambient-keep-across-setuid.json --format markdown`,
    )
    .action((files: string[], opts: SimulateOptions) => {
      process.exitCode = simulateCommand(files, opts);
    });

  program
    .command("caps")
    .description("List the capability table: number, name, the kernel that added it, what it allows.")
    .option("--json", "print JSON")
    .addOption(new Option("--kernel <version>", "only the capabilities of this kernel"))
    .addHelpText("after", "\nExamples:\n  capgate caps\n  capgate caps --kernel 5.4 --json")
    .action((opts: { json?: boolean; kernel?: string }) => capsCommand(opts));

  program
    .command("rules")
    .description(
      "List the kernel rules capgate models, with their stable ids (or only the rules given, or under a prefix).",
    )
    .argument("[id...]", "rule ids (capset.permitted-grows) or prefixes (capset)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  capgate rules\n  capgate rules --json | jq -r '.[] | select(.errno == \"EPERM\") | .id'",
    )
    .action((ids: string[], opts: { json?: boolean }) => rulesCommand(ids, opts));

  program
    .command("show")
    .description(
      "Show a process's capabilities (default: capgate itself) like getpcaps and capsh --print, or every process like pscap.",
    )
    .argument("[pid]", "process id")
    .option("--all", "every process: pid, command, uid, capabilities in libcap text, flags")
    .option("--cap <name>", "only processes holding this capability (permitted or effective)")
    .option("-q, --quiet", "with --cap: print nothing; the exit status answers (0 holds it, 1 not), like grep -q")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  capgate show\n  capgate show 1 --json\n  capgate show --all --cap net_raw\n  capgate show $$ --cap net_admin -q && echo yes",
    )
    .action(async (pid: string | undefined, opts: { json?: boolean; all?: boolean; cap?: string; quiet?: boolean }) => {
      process.exitCode = await showCommand(pid, opts);
    });

  program
    .command("decode")
    .description("Name the capabilities of hex masks, like capsh --decode (the CapEff lines of /proc/PID/status).")
    .argument("<mask...>", "hex masks, e.g. 0x1ffffffffff or 000001ffffffffff; - reads them from standard input")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  capgate decode 0x3000\n  capgate decode $(awk '/CapEff/ {print $2}' /proc/self/status)",
    )
    .action((masks: string[], opts: { json?: boolean }) => {
      process.exitCode = decodeCommand(masks, opts);
    });

  program
    .command("file")
    .description("File capabilities (the security.capability xattr), like getcap; --set like setcap, pre-flighted.")
    .argument("<path...>", "files")
    .option(
      "--set <text>",
      "write these capabilities (setcap text, e.g. cap_net_raw+ep; - reads it from standard input); needs CAP_SETFCAP",
    )
    .option("--remove", "remove the file capabilities (setcap -r)")
    .option("-r, --recursive", "descend into directories, like getcap -r (symbolic links are not followed)")
    .option("--json", "print JSON (also for files without capabilities)")
    .addHelpText(
      "after",
      "\nExamples:\n  capgate file /usr/bin/ping\n  capgate file -r /usr/bin /usr/sbin\n  capgate file --set cap_net_bind_service+ep ./server",
    )
    .action(async (paths: string[], opts: { set?: string; remove?: boolean; json?: boolean; recursive?: boolean }) => {
      process.exitCode = await fileCommand(paths, opts);
    });

  program
    .command("lint")
    .description("Check the capability lists of Kubernetes manifests, Compose files and systemd units.")
    .argument(
      "<file...>",
      "files to check; - reads one from standard input (kubectl get pods -A -o json | capgate lint -)",
    )
    .option("--kind <kind>", "kubernetes, compose or systemd (default: detected)")
    .addOption(new Option("--kernel <version>", "the kernel the workload runs on (default: the newest modelled)"))
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Finds names the kernel lacks, the CAP_ prefix Kubernetes doubles (CAP_CAP_X), ALL where a short
list would do, added capabilities without drop: [ALL], and systemd ambient capabilities outside
the bounding set. Each finding has its line, a rule id and a fix. Exit status 1 when there are
findings, 0 when none, 2 for unreadable input.

Examples:
  capgate lint deploy.yaml
  capgate lint docker-compose.yml /etc/systemd/system/web.service --json`,
    )
    .action((files: string[], opts: { json?: boolean; kernel?: string; kind?: string }) => {
      process.exitCode = lintCommand(files, opts);
    });

  program
    .command("container")
    .description(
      "Predict the capabilities a container's process really gets: the engine's OCI process, the runtime's calls, execve of the entrypoint.",
    )
    .argument(
      "[file...]",
      "an OCI config.json, a Kubernetes manifest or a Compose file (- reads standard input); with --docker, the words of a docker run command",
    )
    .option(
      "--docker",
      "read a docker run command line instead of files: capgate container --docker -- run --user 1000 IMAGE",
    )
    .option(
      "--engine <engine>",
      "docker, podman or containerd (default: docker for Compose and docker run, containerd for Kubernetes)",
    )
    .option("--runtime <runtime>", "the OCI runtime: runc (1.1, the one modelled)")
    .option(
      "--rootfs <dir>",
      "the image's root directory (docker export, a bundle's rootfs): its /etc/passwd, /etc/group and entrypoint are read",
    )
    .addOption(new Option("--kernel <version>", "the kernel the container runs on (default: the newest modelled)"))
    .option("--json", "print JSON: one object per container")
    .option(
      "--scenario",
      "print the runtime's calls as a scenario for capgate simulate and the playground (one container)",
    )
    .addHelpText(
      "after",
      `
For each container: the OCI process section the engine hands the runtime (user, the five
capability lists, noNewPrivileges) with the engine rule behind each value; runc's calls in its
order (bounding drops, keep-caps, setgroups, setgid, setuid, capset, ambient), each judged as
the kernel judges it; execve of the entrypoint; the process's final state; and for every
capability asked for that is not effective, why and how to get it. Nothing is run. Exit
status 0 when every capability asked for is effective, 1 when one is not or the container
would not start, 2 for bad input. See ${docPath("CONTAINERS.md")}.

Examples:
  capgate container deploy.yaml
  capgate container bundle/config.json
  capgate container --docker -- run --user 1000 --cap-add NET_BIND_SERVICE nginx`,
    )
    .action(async (files: string[], opts: ContainerOptions) => {
      process.exitCode = await containerCommand(files, opts);
    });

  execOptions(program.command("exec"))
    .description(
      "Run PROGRAM with exactly the asked-for capabilities: plan the calls, pre-flight and apply them on this thread, then execve.",
    )
    .argument("<program>", "the program (a path, or a name on PATH)")
    .argument("[args...]", "its arguments (after --)")
    .passThroughOptions()
    .addHelpText(
      "after",
      `
The planner finds the shortest sequence of calls (capset, bounding drops, keep-caps, setresuid,
ambient raises, securebits, no_new_privs) after which execve gives PROGRAM exactly --keep and
--ambient, and nothing more; it refuses, with the reason, when no sequence can. Each call is
pre-flighted and verified by reading the kernel back. Like capsh/setpriv:
  setpriv --reuid U --regid G --init-groups / capsh --user=U  ->  --user U
  setpriv --regid G / --groups G,H / --clear-groups / --keep-groups  ->  the same
  setpriv --reset-env                     ->  --reset-env
  setpriv --ambient-caps +X / capsh --addamb=X  ->  --ambient X
  setpriv --bounding-set -X / capsh --drop=X    ->  --drop X
  setpriv --no-new-privs                  ->  --no-new-privs
  capsh --secbits=N                       ->  --secbits NAMES

Examples:
  capgate exec --dry-run --user 1000 --keep net_bind_service -- ./server --port 80
  capgate exec --user backup --keep dac_read_search -- tar czf /backup/etc.tgz /etc
  capgate exec --keep net_admin,bpf,perfmon --bounding net_admin,bpf,perfmon --no-regain --dry-run -- ./tracer

Exit status: the program's own once it runs; before that 1 when the plan is impossible or the
kernel refuses a step (the step, the errno and what had been applied are named; the program is
not run), 2 bad input, 126 the program cannot be executed, 127 it is not found.`,
    )
    .action(async (program: string, args: string[], opts: ExecOptions & { newPrivs?: boolean; regain?: boolean }) => {
      // commander turns --no-X into X: false
      const o: ExecOptions = { ...opts, noNewPrivs: opts.newPrivs === false, noRegain: opts.regain === false };
      delete (o as { newPrivs?: boolean }).newPrivs;
      delete (o as { regain?: boolean }).regain;
      process.exitCode = await execCommand(program, args, o);
    });

  execOptions(program.command("plan"))
    .description(
      "Plan and pre-flight the calls that would run PROGRAM with exactly the asked-for capabilities, and run nothing (exec --dry-run).",
    )
    .argument("<program>", "the program (a path or a name on PATH; it need not exist yet)")
    .argument("[args...]", "its arguments (after --)")
    .passThroughOptions()
    .addHelpText(
      "after",
      `
The same as capgate exec --dry-run (every option of exec, see capgate exec --help): the plan
table, each call's rule, and the state the program would start with.

Examples:
  capgate plan --user 1000 --keep net_bind_service -- ./server --port 80
  capgate plan --keep net_admin --no-regain --json -- ./tracer`,
    )
    .action(async (program: string, args: string[], opts: ExecOptions & { newPrivs?: boolean; regain?: boolean }) => {
      const o: ExecOptions = {
        ...opts,
        dryRun: true,
        noNewPrivs: opts.newPrivs === false,
        noRegain: opts.regain === false,
      };
      delete (o as { newPrivs?: boolean }).newPrivs;
      delete (o as { regain?: boolean }).regain;
      process.exitCode = await execCommand(program, args, o);
    });

  program
    .command("watch")
    .description(
      "Follow the capabilities of every thread (or --pid) and judge each change with the kernel's rules; or judge a Tracee event stream.",
    )
    .option("--pid <pid...>", "watch these processes' threads (--pid 1 2, or repeated); watch ends when all are gone")
    .option("--all", "watch every process (the default)")
    .option("--interval <ms>", "polling interval (10 to 3600000)", "200")
    .option("--duration <ms>", "stop after this long (default: run until interrupted)")
    .option("--fail-on-anomaly", "exit 1 at the first change no kernel operation explains")
    .option("--tracee <file>", "judge the commit_creds events of Tracee's JSON output (a file, or - for stdin) instead")
    .option("--json", "one JSON event per line")
    .addHelpText(
      "after",
      `
Each change is explained by capset/prctl/setuid (nothing gained), by execve (gains within what
the exec rules allow from the old state), or flagged as a possible privilege escalation:
permitted or bounding grown with no exec, ambient outside permitted ∩ inheritable, an exec
that gave more than bounding ∪ inheritable, a uid change that kept what the fix-up clears.
A new user namespace is reported as such: its capabilities give nothing over the parent. A uid
or gid change to an id the thread could not reach (no CAP_SETUID/CAP_SETGID, not one of its
own ids) is an anomaly. Polling sees states, not calls: an exec shows as a new program image
(the exe link, or the code and stack addresses of /proc/PID/stat); a renamed thread is not an
exec. Tracee's events name the syscall and are exact; --tracee - judges each as it arrives.
Names and other strings from processes are printed with control characters as \\xNN.

Examples:
  capgate watch --pid 1234 --json
  capgate watch --duration 60000 --fail-on-anomaly
  tracee --events commit_creds --output json | capgate watch --tracee - --fail-on-anomaly`,
    )
    .action(async (opts: WatchOptions) => {
      process.exitCode = await watchCommand(opts);
    });

  program
    .command("explain")
    .description(
      "Pre-flight a change: would it succeed from this process (or --from), which kernel rule decides, and how to fix it.",
    )
    .option(
      "--from <state>",
      'start state: a PID (a running process: its sets, ids, groups and user namespace), libcap text ("=ep cap_sys_admin-e"), a hex mask (0x...), or a /proc/PID/status file (default: this process)',
    )
    .option("--uid <uid>", "the start state's uid (all four ids)")
    .addOption(new Option("--kernel <version>", "kernel profile (default: the newest modelled)"))
    .option("--capset <text>", "capset to these sets (libcap text, like capsh --caps)")
    .option("--drop <caps>", "drop from effective, permitted and inheritable")
    .option("--bounding-drop <caps>", "PR_CAPBSET_DROP each (like capsh --drop)")
    .option("--ambient-raise <caps>", "PR_CAP_AMBIENT_RAISE each")
    .option("--ambient-lower <caps>", "PR_CAP_AMBIENT_LOWER each")
    .option("--securebits <bits>", "PR_SET_SECUREBITS: names (SECBIT_NOROOT,...) or a number")
    .option("--keep-caps", "PR_SET_KEEPCAPS 1")
    .option("--setuid <uid>", "setuid(uid)")
    .option("--setresuid <r,e,s>", "setresuid(r, e, s); -1 leaves an id")
    .option("--no-new-privs", "PR_SET_NO_NEW_PRIVS 1")
    .option(
      "--exec <path>",
      "execve of this file, as the kernel would read it: set-id bits, owner, group, file capabilities, a nosuid mount, and for a #! script its interpreter",
    )
    .option("--exec-caps <text>", "execve of a file with these file capabilities (setcap text, e.g. cap_net_raw+ep)")
    .option("--exec-setuid <owner>", "execve of a setuid file owned by this uid")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
The changes run in the order a launcher makes them: capset, drop, bounding drops, ambient,
securebits, keep-caps, uid change, no_new_privs, exec. Names may be written cap_net_raw,
net_raw, NET_RAW or 13. Exit status: 0 every step would succeed, 1 one would fail (the rule and
the fix are printed; later steps are not evaluated), 2 bad input.

Examples:
  capgate explain --ambient-raise net_bind_service
  capgate explain --from "cap_net_bind_service,cap_setuid,cap_setpcap=ep" --keep-caps --setresuid 1000,1000,1000 --exec-caps cap_net_raw+ep
  capgate explain --from /proc/1/status --bounding-drop sys_admin --json`,
    )
    .action(async (opts: ExplainOptions & { newPrivs?: boolean }) => {
      // commander stores --no-new-privs as newPrivs: false
      if (opts.newPrivs === false) opts = { ...opts, noNewPrivs: true };
      process.exitCode = await explainCommand(opts);
    });

  program
    .command("verify")
    .description(
      "Run a scenario (or a random campaign) on the real kernel in a throwaway user namespace and compare with the engine.",
    )
    .argument("[file]", "scenario JSON file")
    .option("--fuzz", "run random operation sequences instead of a file")
    .option("--trials <n>", "how many random sequences (with --fuzz)", undefined)
    .option("--seed <s>", "random seed (with --fuzz)", undefined)
    .addOption(new Option("--kernel <version>", "the profile to compare with (default: the running kernel's)"))
    .option(
      "--boot <vmlinuz>",
      "run on this kernel image instead, booted under qemu-system-x86_64 (the profile: its version)",
    )
    .option(
      "--cc <compiler>",
      "the C compiler that builds the kernel runner (as root the only way to use another than the system's cc)",
    )
    .option(
      "--qemu <program>",
      "the qemu-system-x86_64 to boot with (with --boot; as root the only way to use another than the system's)",
    )
    .option(
      "--container",
      "run random container specs for real (root) and compare each process with capgate container's prediction",
    )
    .option(
      "--runtime <runtime>",
      "with --container: runc (default; bundles on a private state root) or docker (a private dockerd)",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Exit status: 0 the engine and the kernel agree; 1 they disagree, and the disagreement's
reproducer, run alone on the same kernel, repeated it; 2 bad input; 3 they agree up to a step
outside the model; 4 a disagreement that did not repeat (a fault of the test harness, reported
with both runs), or trials whose start state the kernel could not reach; 5 the kernel to boot
gave no answer (it hung, crashed, or the answer was lost), within a time that grows with the
trials. A disagreement prints a scenario that reproduces it with capgate simulate.
--boot builds an initramfs with a static build of the runner (as /init) and the trials, boots
the image with qemu (KVM not needed, sandboxed, as the user nobody when run as root), and reads
the answers from a serial port of their own; the JSON report then names the booted kernel
(uname -r) and the profile compared with.

Examples:
  capgate verify examples/ambient-keep-across-setuid.json
  capgate verify --fuzz --trials 20000 --seed 7
  capgate verify --boot /boot/vmlinuz-6.1.0-47-cloud-amd64 --fuzz --trials 2000
  capgate verify --container --runtime docker --trials 300`,
    )
    .action(async (file: string | undefined, opts: VerifyOptions) => {
      process.exitCode = await verifyCommand(file, opts);
    });

  program
    .command("completion")
    .description("Print a shell completion script (bash, zsh or fish), generated from these commands.")
    .argument("<shell>", "bash, zsh or fish")
    .addHelpText(
      "after",
      "\nExamples:\n  capgate completion bash > /etc/bash_completion.d/capgate\n  capgate completion fish > ~/.config/fish/completions/capgate.fish",
    )
    .action((shell: string) => {
      if (!["bash", "zsh", "fish"].includes(shell))
        throw new UsageError(`completion: expected bash, zsh or fish, got ${JSON.stringify(shell)}`);
      process.stdout.write(
        completionScript(program, shell, {
          capabilities: CAPABILITIES.map((c) => c.name.toLowerCase()),
          rules: RULES.map((r) => r.id),
          kernels: [...PROFILE_MILESTONES],
        }),
      );
    });

  program
    .command("playground")
    .description(
      "Serve the browser playground on 127.0.0.1: a scenario editor, the step table and the five sets, on the same engine.",
    )
    .option("--port <port>", "the port (default 8047; 0 picks a free one)")
    .option("--open", "open it in the browser (xdg-open)")
    .addHelpText("after", "\nExamples:\n  capgate playground --open\n  capgate playground --port 9000")
    .action(async (opts: { port?: string; open?: boolean }) => {
      process.exitCode = await playgroundCommand(opts);
    });

  program
    .command("version")
    .description("Print the version (as --version).")
    .action(() => {
      process.stdout.write(`${version()}\n`);
    });

  program
    .command("man")
    .description("Print the capgate(1) man page (roff), generated from the same help text.")
    .addHelpText("after", "\nExamples:\n  capgate man | man -l -\n  capgate man > /usr/local/share/man/man1/capgate.1")
    .action(() => {
      process.stdout.write(manPage(program, version()));
    });

  return program;
}

/**
 * The error as `--json` callers read it on stdout: `{"error": {"message", "file", "path",
 * "exitStatus"}}`; file is the input file the error names (when it is one), path where in it.
 */
function writeJsonError(message: string, where: string | null, exitStatus: number): void {
  let file: string | null = null,
    path: string | null = where;
  if (where) {
    const [head = "", ...rest] = where.split(": ");
    const candidate = head.replace(/:\d+$/, "");
    if (candidate === "-" || existsSync(candidate)) {
      file = candidate;
      path = rest.length ? rest.join(": ") : null;
    }
  }
  process.stdout.write(JSON.stringify({ error: { message, file, path, exitStatus } }) + "\n");
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // -V, commander's own short flag for the version, is kept beside -v
  if (argv.length === 1 && argv[0] === "-V") argv = ["--version"];
  try {
    await program.parseAsync(argv, { from: "user" });
    const status = typeof process.exitCode === "number" ? process.exitCode : 0;
    flushNotes(status !== 2);
    return status;
  } catch (e) {
    flushNotes(e instanceof CapgateSystemError);
    // with --json, a script reading stdout gets the error as JSON too (the line stays on stderr)
    const dashDash = argv.indexOf("--");
    const json = (dashDash < 0 ? argv : argv.slice(0, dashDash)).includes("--json");
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      if (e.exitCode !== 0 && json)
        writeJsonError(e.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " "), null, 2);
      return e.exitCode === 0 ? 0 : 2;
    }
    // The one place errors become exit statuses: bad input 2, the system's refusals their own.
    if (e instanceof CapgateInputError || e instanceof CapgateSystemError) {
      process.stderr.write(`capgate: ${errorLine(e.message)}\n`);
      if (json) writeJsonError(e.message, "path" in e && typeof e.path === "string" ? e.path : null, e.exitStatus);
      return e.exitStatus;
    }
    process.stderr.write(`capgate: internal error: ${errorLine(e instanceof Error ? e.message : String(e))}\n`);
    if (process.env["CAPGATE_DEBUG"]) console.error(e);
    return 70;
  }
}
