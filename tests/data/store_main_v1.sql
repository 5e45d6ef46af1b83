-- a result store written by main's experiments/store.py (commit bae1bf4), before target_id existed
PRAGMA user_version=1;
BEGIN TRANSACTION;
CREATE TABLE runs (hash TEXT PRIMARY KEY, sweep TEXT, target TEXT, activation TEXT, width INTEGER, depth INTEGER, params INTEGER, seed INTEGER, dtype TEXT, device TEXT, optimizer TEXT, steps INTEGER, train_rmse REAL, test_rmse REAL, test_linf REAL, wall_s REAL, status TEXT, dim INTEGER, target_expr TEXT, target_n INTEGER, rel_rmse REAL, fail_step INTEGER, fail_reason TEXT, group_wall_s REAL, group_size INTEGER, train_points INTEGER, test_points INTEGER, grid_points INTEGER, config TEXT, history TEXT, finished_at TEXT);
INSERT INTO "runs" VALUES('h04','old','wave','relu',4,1,13,0,'float64','cpu','adam',10,0.025,0.05,0.125,0.01,'ok',1,'0.5*sin(3*x0)',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"width": 4}','[[0, 1.0], [10, 0.1]]',NULL);
INSERT INTO "runs" VALUES('h08','old','wave','relu',8,1,25,0,'float64','cpu','adam',10,0.0125,0.025,0.0625,0.01,'ok',1,'0.5*sin(3*x0)',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"width": 8}','[[0, 1.0], [10, 0.1]]',NULL);
INSERT INTO "runs" VALUES('h14','old','wave','relu',4,1,13,0,'float64','cpu','adam',10,0.025,0.05,0.125,0.01,'ok',1,'x0**2',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"width": 4}','[[0, 1.0], [10, 0.1]]',NULL);
INSERT INTO "runs" VALUES('h18','old','wave','relu',8,1,25,0,'float64','cpu','adam',10,0.0125,0.025,0.0625,0.01,'ok',1,'x0**2',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"width": 8}','[[0, 1.0], [10, 0.1]]',NULL);
INSERT INTO "runs" VALUES('h24','old','bump','relu',4,1,13,0,'float64','cpu','adam',10,0.025,0.05,0.125,0.01,'ok',2,'x0*x1',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"width": 4}','[[0, 1.0], [10, 0.1]]',NULL);
INSERT INTO "runs" VALUES('h28','old','bump','relu',8,1,25,0,'float64','cpu','adam',10,0.0125,0.025,0.0625,0.01,'ok',2,'x0*x1',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"width": 8}','[[0, 1.0], [10, 0.1]]',NULL);
COMMIT;
