-- One database per service (owned by POSTGRES_USER). Runs only on an empty data volume;
-- on an existing one, run the new line by hand, e.g.:
--   docker compose exec postgres psql -U pbm -d pbm -c 'CREATE DATABASE pbm_evaluation'
CREATE DATABASE pbm_indicator;
CREATE DATABASE pbm_agency;
CREATE DATABASE pbm_goal;
CREATE DATABASE pbm_monitoring;
CREATE DATABASE pbm_evaluation;
