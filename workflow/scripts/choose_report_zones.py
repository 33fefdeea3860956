from sezlights import htmltable, report, table
from sezlights.atomic import write_text
from sezlights.job import run_step


def main():
    # zones are chosen, each plotted with its rings
    df = table.zones_only(table.read(snakemake.input.table))
    shown = report.choose_zones(df, snakemake.params.zones, snakemake.params.max_zones)
    table.write_csv(shown, snakemake.output.shown)
    write_text(snakemake.output.html, htmltable.html_table(shown, "Zones plotted one by one"))


run_step(snakemake, main)
