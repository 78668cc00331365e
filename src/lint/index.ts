// capgate/lint: the capability lists of Kubernetes manifests, Compose files and systemd units, checked.
export { lintText, LintInputError, type Finding, type LintResult, type LintKind } from "./lint.js";
