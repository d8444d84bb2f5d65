DROP TABLE engagement_experts;
DROP TABLE engagements;
