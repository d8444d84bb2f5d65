DROP TABLE ex_ante_reports;
