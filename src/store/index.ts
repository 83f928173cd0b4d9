export { openDatabase, migrateLatest, appliedMigrations, migrationsDirectory, DatabaseUnusableError, checkDatabasePath } from './db';
export type { Db, DbSync, OpenDatabaseOptions } from './db';
export { Store } from './store';
export type { HeartbeatBatchWrite } from './store';
export { GroupCommitBatcher, BatcherClosedError } from './batcher';
export type { BatcherOptions } from './batcher';
export { heartbeatToRow } from './rows';
export type { NewEvent, StateUpdate, HeartbeatRow } from './rows';
