#!/usr/bin/env python3
"""Converts a LiteLLM model_prices_and_context_window.json into data/model_prices.csv,
the price list the install script seeds. A maintainer's tool: the build does not run it.

usage: tools/litellm_prices_to_csv.py model_prices_and_context_window.json > data/model_prices.csv
"""
import json
import sys
from decimal import Decimal

# LiteLLM provider names -> llmtrace's normalized provider names.
PROVIDERS = {
    "openai": "openai", "text-completion-openai": "openai", "anthropic": "anthropic",
    "gemini": "google", "vertex_ai-language-models": "google", "vertex_ai-embedding-models": "google",
    "xai": "xai", "deepseek": "deepseek", "moonshot": "moonshot", "bedrock": "bedrock",
    "volcengine": "volcengine", "zhipu": "zhipu", "minimax": "minimax", "mistral": "mistral",
}
MODES = {"chat", "responses", "completion", "embedding"}
TIERS = ("200k", "128k", "272k")


def per_mtok(v):
    if v is None:
        return ""
    d = (Decimal(repr(v)) * 1000000).normalize()
    return format(d, "f")


def main():
    doc = json.load(open(sys.argv[1]))
    print("provider,model,match,input,output,cached_input,cache_write,"
          "tier_threshold_tokens,tier_input,tier_output,tier_cached_input,tier_cache_write")
    for model in sorted(doc):
        e = doc[model]
        if not isinstance(e, dict) or e.get("mode") not in MODES:
            continue
        if "input_cost_per_token" not in e:
            continue
        prov = PROVIDERS.get(e.get("litellm_provider"), e.get("litellm_provider", ""))
        row = [prov, model.lower(), "exact", per_mtok(e["input_cost_per_token"]),
               per_mtok(e.get("output_cost_per_token")),
               per_mtok(e.get("cache_read_input_token_cost")),
               per_mtok(e.get("cache_creation_input_token_cost"))]
        tier = ["", "", "", "", ""]
        for t in TIERS:
            k = "input_cost_per_token_above_%s_tokens" % t
            if k in e:
                tier = [str(int(t[:-1]) * 1000), per_mtok(e[k]),
                        per_mtok(e.get("output_cost_per_token_above_%s_tokens" % t)),
                        per_mtok(e.get("cache_read_input_token_cost_above_%s_tokens" % t)),
                        per_mtok(e.get("cache_creation_input_token_cost_above_%s_tokens" % t))]
                break
        if any("," in c for c in row):
            continue
        print(",".join(row + tier))


if __name__ == "__main__":
    main()
