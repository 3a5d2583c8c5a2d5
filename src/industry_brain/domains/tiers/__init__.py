"""五企培育: enterprise tiers, 创新评动力, 三单一库 and 一企一策 plans (issue 17)."""
