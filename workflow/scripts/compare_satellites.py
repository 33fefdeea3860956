from sezlights import htmltable, plots, table
from sezlights.atomic import write_text
from sezlights.job import run_step


def main():
    df = table.zones_only(table.read(snakemake.input.table))  # zones, not their rings
    pair = plots.satellite_pair(df, snakemake.params.source)
    if pair is None:
        plots.pair_scatter(df, "-", "-", snakemake.output.figure)
        zones = plots.overlap_by_zone(df.iloc[0:0], "-", "-")
    else:
        plots.pair_scatter(df, *pair, snakemake.output.figure)
        zones = plots.overlap_by_zone(df, *pair)
    table.write_csv(zones, snakemake.output.zones)
    x, y = pair or ("", "")
    write_text(
        snakemake.output.html,
        htmltable.html_table(
            zones,
            f"Zone by zone: {y} against {x} over the months both observed",
            note=(
                "median_ratio: the zone's median of the ratio of the two means (months with "
                "both above 0); ratio_p25/ratio_p75 and relative_spread ((p75 - p25) / median): "
                "how steady that ratio is, steadiest first; spearman: rank correlation of the "
                "two series over the overlap months."
            ),
        ),
    )


run_step(snakemake, main)
