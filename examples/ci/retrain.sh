#!/usr/bin/env bash
# Retrain from CI: validate the job spec, plan it (dry run), then submit, wait and
# gate on a metric. The GitHub workflow next to this file runs these same steps;
# other CI systems (GitLab, Buildkite, Jenkins, ...) can call it as it is.
#
#   examples/ci/retrain.sh [validate|plan|submit|all]      (default: all)
#
# Exit codes are cloudgd's: 0 trained and passed the gates, 2 bad spec or flag,
# 3 provider/API error, 4 the job failed or missed a gate.
#
# Environment (all optional):
#   CLOUDGD_PROVIDER   aws | gcp | azure | local                   (default aws)
#   JOB_SPEC           the job spec                                (default examples/digits.yaml)
#   MIN_METRIC         gate, e.g. val_accuracy=0.95                 (--min-metric)
#   MAX_METRIC         gate, e.g. val_loss=0.3                      (--max-metric)
#   OUT_DIR            where plan.json, cost.json, result.json go  (default cloudgd-out)
#   CLOUDGD            how to run cloudgd                          (default: cloudgd)
#   CLOUDGD_BACKEND    cloud, or a rehearsal backend (moto, fake)   (default cloud)
#   CLOUDGD_SUBMIT_ARGS  extra submit flags, e.g. "--run-local --poll 1" for rehearsals
#   Provider settings: the Terraform outputs of terraform/examples/<cloud>; only the
#   chosen provider's are read. Credentials come from the CI's OIDC login, never here.
#     AWS_ROLE_ARN AWS_OUTPUT_URI                        (outputs role_arn, output_uri)
#     GCP_PROJECT GCP_LOCATION GCP_STAGING_BUCKET GCP_SERVICE_ACCOUNT
#     AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_WORKSPACE AZURE_COMPUTE
# The idempotency key defaults to the CI run (commit, run id, attempt): a re-run
# attaches to the job an earlier attempt started unless that job failed. Set
# CLOUDGD_IDEMPOTENCY_KEY to choose it yourself.
set -euo pipefail

step="${1:-all}"
provider="${CLOUDGD_PROVIDER:-aws}"
spec="${JOB_SPEC:-examples/digits.yaml}"
out="${OUT_DIR:-cloudgd-out}"
read -r -a cloudgd <<<"${CLOUDGD:-cloudgd}"
read -r -a submit_extra <<<"${CLOUDGD_SUBMIT_ARGS:-}"

settings=()
add_setting() { # add_setting FIELD VALUE: --set providers.<provider>.FIELD=VALUE when VALUE is set
  if [[ -n "${2:-}" ]]; then
    settings+=(--set "providers.${provider}.$1=$2")
  fi
}
case "$provider" in
  aws)
    add_setting role_arn "${AWS_ROLE_ARN:-}"
    add_setting output_uri "${AWS_OUTPUT_URI:-}"
    ;;
  gcp)
    add_setting project "${GCP_PROJECT:-}"
    add_setting location "${GCP_LOCATION:-}"
    add_setting staging_bucket "${GCP_STAGING_BUCKET:-}"
    add_setting service_account "${GCP_SERVICE_ACCOUNT:-}"
    ;;
  azure)
    add_setting subscription_id "${AZURE_SUBSCRIPTION_ID:-}"
    add_setting resource_group "${AZURE_RESOURCE_GROUP:-}"
    add_setting workspace "${AZURE_WORKSPACE:-}"
    add_setting compute "${AZURE_COMPUTE:-}"
    ;;
  local) ;;
  *)
    echo "retrain.sh: CLOUDGD_PROVIDER must be aws, gcp, azure or local, not '$provider'" >&2
    exit 2
    ;;
esac
where=(--provider "$provider" --backend "${CLOUDGD_BACKEND:-cloud}")

gates=()
if [[ -n "${MIN_METRIC:-}" ]]; then gates+=(--min-metric "$MIN_METRIC"); fi
if [[ -n "${MAX_METRIC:-}" ]]; then gates+=(--max-metric "$MAX_METRIC"); fi

mkdir -p "$out"

validate() {
  "${cloudgd[@]}" validate "$spec"
}

plan() {
  # plan.json: the exact request, byte-stable; plan.txt: the same for people.
  "${cloudgd[@]}" plan "$spec" "${where[@]}" "${settings[@]}" \
    --out "$out/plan.json" >"$out/plan.txt"
  if [[ "$provider" != local ]]; then
    "${cloudgd[@]}" cost "$spec" --provider "$provider" --output json >"$out/cost.json"
  fi
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    {
      echo "### cloudgd plan: $spec on $provider (dry run, nothing created)"
      echo
      echo '```'
      head -n 60 "$out/plan.txt"
      echo '```'
    } >>"$GITHUB_STEP_SUMMARY"
  fi
  echo "plan written to $out/plan.json" >&2
}

submit() {
  # result.json is written even when the job fails or misses a gate (exit 4).
  "${cloudgd[@]}" --output json submit "$spec" "${where[@]}" "${settings[@]}" \
    --wait "${gates[@]}" "${submit_extra[@]}" >"$out/result.json"
}

case "$step" in
  validate) validate ;;
  plan) plan ;;
  submit) submit ;;
  all)
    validate
    plan
    submit
    ;;
  *)
    echo "usage: retrain.sh [validate|plan|submit|all]" >&2
    exit 2
    ;;
esac
