"""Instance selection: cheapest catalog machine per provider/region, explicit types checked."""

from __future__ import annotations

import pytest

from cloudgd.accelerators import parse_accelerator
from cloudgd.cost.select import choose_instance, default_region
from cloudgd.errors import SpecError, UsageError


def acc(text: str):
    return parse_accelerator(text)


def test_default_regions() -> None:
    assert default_region("aws") == "us-east-1"
    assert default_region("gcp") == "us-central1"
    assert default_region("azure") == "eastus"
    with pytest.raises(UsageError):
        default_region("local")


def test_aws_a10g_picks_g5_xlarge_at_the_sagemaker_training_rate() -> None:
    choice = choose_instance("aws", acc("A10G:1"), "us-east-1")
    assert choice.instance_type == "ml.g5.xlarge"
    assert (choice.accelerator, choice.accelerator_count) == ("A10G", 1)
    assert (choice.price_basis, choice.price_per_hour) == ("training", 1.408)
    assert choice.price_note == "training rate (SageMaker training)"
    assert choice.spot_price_per_hour is None  # no managed-spot rate; EC2 spot is not used
    assert choice.vertex_accelerator_type is None
    assert "AmazonSageMaker" in choice.sources[0]
    assert choice.as_of.isoformat() == "2026-09-24"


def test_aws_without_a_training_row_shows_the_ec2_price_as_a_labelled_stand_in() -> None:
    choice = choose_instance("aws", acc("A10G:1"), "eu-west-1")
    assert (choice.price_basis, choice.price_per_hour) == ("stand_in", 1.123)
    assert choice.spot_price_per_hour == 0.5727
    assert choice.price_note.startswith("stand-in (EC2 list price; typically 29% below")
    assert "skypilot" in choice.sources[0]


def test_aws_l4_is_chosen_from_its_training_row_alone() -> None:
    choice = choose_instance("aws", acc("L4:1"), "us-east-1")
    assert (choice.instance_type, choice.price_per_hour) == ("ml.g6.xlarge", 1.127)


def test_gcp_prices_are_compute_engine_stand_ins_with_no_known_gap() -> None:
    choice = choose_instance("gcp", acc("T4:1"), "us-central1")
    assert choice.price_basis == "stand_in"
    assert "how far below the training rate is unknown" in choice.price_note


def test_aws_cpu_is_cheapest_cpu_machine_that_fits() -> None:
    assert choose_instance("aws", acc("none"), "us-east-1").instance_type == "ml.m5.xlarge"
    big = choose_instance("aws", acc("none"), "us-east-1", min_vcpus=8)
    assert big.instance_type == "ml.c5.2xlarge"
    assert big.accelerator is None and big.accelerator_count == 0


def test_aws_spot_unknown_stays_unknown() -> None:
    choice = choose_instance("aws", acc("A10G:1"), "us-west-2")
    assert choice.price_per_hour == 1.006
    assert choice.spot_price_per_hour is None


def test_gcp_a100_adds_host_and_gpu_rows() -> None:
    choice = choose_instance("gcp", acc("A100:1"), "us-central1")
    assert choice.instance_type == "a2-highgpu-1g"
    assert choice.vertex_accelerator_type == "NVIDIA_TESLA_A100"
    # 0.73948 host + 2.93391 A100x1 (PROVENANCE.md example)
    assert choice.price_per_hour == pytest.approx(3.67339)
    assert choice.spot_price_per_hour == pytest.approx(0.36975 + 1.4341)
    assert len(choice.sources) == 3  # host row, GPU row, shape row


def test_gcp_t4_attaches_to_n1() -> None:
    choice = choose_instance("gcp", acc("T4:1"), "europe-west4")
    assert choice.instance_type == "n1-standard-8"
    assert choice.vertex_accelerator_type == "NVIDIA_TESLA_T4"
    assert choice.price_per_hour == pytest.approx(0.41834 + 0.3675)


def test_gcp_attachable_count_without_price_row_is_unknown_not_multiplied() -> None:
    choice = choose_instance("gcp", acc("T4:2"), "us-central1")
    assert (choice.instance_type, choice.accelerator_count) == ("n1-standard-8", 2)
    assert choice.price_per_hour is None and choice.spot_price_per_hour is None


def test_gcp_h100x8_has_no_gpu_row_so_price_unknown() -> None:
    choice = choose_instance("gcp", acc("H100:8"), "us-central1")
    assert choice.instance_type == "a3-highgpu-8g"
    assert choice.vertex_accelerator_type == "NVIDIA_H100_80GB"
    assert choice.price_per_hour is None


def test_gcp_tpu_v5e_machine_type_and_topology() -> None:
    choice = choose_instance("gcp", acc("tpu-v5e:8"), "us-central1")
    assert choice.instance_type == "ct5lp-hightpu-8t"
    assert choice.tpu_topology == "2x4"
    assert choice.vertex_accelerator_type is None
    assert choice.price_per_hour == 9.6


def test_gcp_l4_uses_g2() -> None:
    choice = choose_instance("gcp", acc("L4:1"), "us-central1")
    assert choice.instance_type == "g2-standard-8"
    assert choice.vertex_accelerator_type == "NVIDIA_L4"
    assert choice.price_per_hour == pytest.approx(0.29358 + 0.56004)


def test_azure_v100() -> None:
    choice = choose_instance("azure", acc("V100:1"), "eastus")
    assert choice.instance_type == "Standard_NC6s_v3"
    assert choice.price_per_hour == 3.06


def test_azure_known_region_without_prices_gives_unknown_price() -> None:
    choice = choose_instance("azure", acc("T4:1"), "westeurope")
    assert choice.instance_type == "Standard_NC4as_T4_v3"
    assert choice.price_per_hour is None


def test_explicit_instance_type_wins_and_accepts_both_aws_spellings() -> None:
    for name in ("ml.g5.12xlarge", "g5.12xlarge"):
        choice = choose_instance("aws", acc("A10G:4"), "eu-west-1", instance_type=name)
        assert choice.instance_type == "ml.g5.12xlarge"
        assert choice.price_per_hour == 6.33167


def test_explicit_instance_type_must_match_accelerator() -> None:
    with pytest.raises(SpecError, match=r"resources.instance_type: ml.g5.xlarge has A10G:1"):
        choose_instance("aws", acc("T4:1"), "us-east-1", instance_type="ml.g5.xlarge")


@pytest.mark.parametrize(
    ("provider", "accelerator", "instance_type"),
    [
        ("aws", "L4:1", "ml.g6.2xlarge"),
        ("gcp", "none", "c3-standard-8"),
        ("azure", "L4:1", "Standard_NC8ads_L4_v1"),
    ],
)
def test_an_uncatalogued_instance_type_passes_through_with_price_unknown(
    provider: str, accelerator: str, instance_type: str
) -> None:
    region = {"aws": "ap-south-2", "gcp": "me-central2", "azure": "swedencentral"}[provider]
    choice = choose_instance(provider, acc(accelerator), region, instance_type=instance_type)
    assert choice.instance_type == instance_type
    assert str(acc(accelerator)) == (
        f"{choice.accelerator}:{choice.accelerator_count}" if choice.accelerator else "none"
    )
    assert (choice.vcpus, choice.memory_gib, choice.price_per_hour) == (None, None, None)
    assert choice.price_basis == "unknown"
    assert "cloudgd catalog refresh" in choice.price_note


@pytest.mark.parametrize(
    ("provider", "bad"),
    [("aws", "ml.g5"), ("gcp", "N1_STANDARD"), ("azure", "Standard NC6")],
)
def test_an_instance_type_is_checked_for_syntax_only(provider: str, bad: str) -> None:
    with pytest.raises(SpecError, match=r"resources\.instance_type") as info:
        choose_instance(provider, acc("none"), default_region(provider), instance_type=bad)
    assert "machine name" in info.value.message


@pytest.mark.parametrize(
    ("provider", "region"), [("aws", "eu-central-1"), ("gcp", "asia-south1"), ("azure", "westus2")]
)
def test_any_region_is_accepted_and_unpriced_there(provider: str, region: str) -> None:
    choice = choose_instance(provider, acc("T4:1"), region)
    assert choice.region == region
    assert (choice.price_basis, choice.price_per_hour) == ("unknown", None)


def test_tpu_on_aws_names_an_alternative() -> None:
    with pytest.raises(SpecError, match=r"resources\.accelerator") as info:
        choose_instance("aws", acc("tpu-v5e:8"), "us-east-1")
    assert "Trainium" in (info.value.hint or "")


def test_count_no_machine_has_lists_counts() -> None:
    with pytest.raises(SpecError, match="A100:2") as info:
        choose_instance("aws", acc("A100:2"), "us-east-1")
    assert "8" in (info.value.hint or "")


def test_minimums_that_nothing_meets() -> None:
    with pytest.raises(SpecError, match="min_vcpus"):
        choose_instance("aws", acc("T4:1"), "us-east-1", min_memory_gib=4096)
    with pytest.raises(SpecError, match="below"):
        choose_instance(
            "aws", acc("T4:1"), "us-east-1", instance_type="ml.g4dn.xlarge", min_vcpus=64
        )


@pytest.mark.parametrize(
    ("provider", "typo"), [("aws", "us-east1"), ("gcp", "us-central"), ("azure", "West US 2")]
)
def test_a_region_is_checked_for_syntax_only(provider: str, typo: str) -> None:
    with pytest.raises(SpecError, match=r"resources\.region") as info:
        choose_instance(provider, acc("none"), typo)
    assert "region name" in info.value.message
