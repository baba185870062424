/** What Grafana does to a dashboard's queries before a data source runs them, for tests. */

/** A time range and the insight filters; a filter left undefined is "All". */
export interface GrafanaSelection {
  readonly from: number;
  readonly to: number;
  readonly region?: string;
  readonly device?: string;
}

/** A Prometheus panel's expression with the dashboard's variables filled in (every pod, a 1m rate interval). */
export function expandPromQl(expr: string, namespace: string): string {
  return expr
    .replace(/\$namespace/g, namespace)
    .replace(/\$pod/g, ".*")
    .replace(/\$__rate_interval/g, "1m");
}

/**
 * A ClickHouse panel's SQL as Grafana and the ClickHouse data source send it: ${__from} and
 * ${__to} are the range in epoch ms (Grafana's global variables), ${var:sqlstring} quotes the
 * value (doubling quotes), and $__conditionalAll(condition, $var) is the condition unless every
 * value is selected, then 1=1 (grafana/clickhouse-datasource README, "Macros").
 */
export function expandSql(sql: string, selection: GrafanaSelection): string {
  const selected: Record<string, string | undefined> = { region: selection.region, device: selection.device };
  const expanded = sql
    .replace(/\$__conditionalAll\(([^,]+), \$(\w+)\)/g, (_match, condition: string, name: string) =>
      selected[name] === undefined ? "1=1" : condition,
    )
    .replace(/\$\{(\w+):sqlstring\}/g, (_match, name: string) => `'${selected[name]!.replace(/'/g, "''")}'`)
    .replace(/\$\{__from\}/g, String(selection.from))
    .replace(/\$\{__to\}/g, String(selection.to));
  if (/\$/.test(expanded)) throw new Error(`a Grafana variable is left in: ${expanded}`);
  return expanded;
}
