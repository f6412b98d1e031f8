import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';
import { MIGRATIONS, STAGE_EVENTS, INSERT_STAGED_EVENTS } from './src/sinks/warehouse-sql';
import { listValue, LIST, VARCHAR } from '@duckdb/node-api';
import { readdirSync } from 'node:fs';
(async () => {
  rmSync('/tmp/whx.duckdb', { force: true });
  const i = await DuckDBInstance.create('/tmp/whx.duckdb');
  const c = await i.connect();
  for (const m of MIGRATIONS) await c.run(m.sql);
  const files: string[] = [];
  for (const d of readdirSync('/tmp/whlake/events/year=2024/month=05')) for (const f of readdirSync('/tmp/whlake/events/year=2024/month=05/' + d)) files.push(`/tmp/whlake/events/year=2024/month=05/${d}/${f}`);
  const t = async (label: string, sql: string, params?: any[]) => { const cpu = process.cpuUsage(); const s = Date.now(); const r = await c.run(sql, params, params ? [LIST(VARCHAR)] : undefined); const u = process.cpuUsage(cpu); console.log(label, 'wall', Date.now() - s, 'cpu', Math.round((u.user + u.system) / 1000), 'rows', r.rowsChanged); };
  await t('read only', "SELECT count(*) FROM read_json($1, format='newline_delimited', compression='gzip', columns={messageId:'VARCHAR'})", [listValue(files)]);
  await t('stage', STAGE_EVENTS, [listValue(files)]);
  await t('insert', INSERT_STAGED_EVENTS);
})();
