DROP TABLE ex_ante_commissions;
