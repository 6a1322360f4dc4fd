package api

import "github.com/gin-gonic/gin"

// listPlans: GET /data/plans?source=&limit=&cursor=, ordered by id.
func (s *Server) listPlans(c *gin.Context) { listPage(s, c, s.DB.ListPlans, toPlanResponse) }

// getPlan: GET /data/plans/:id?source=.
func (s *Server) getPlan(c *gin.Context) { answerRow(s, c, s.DB.GetPlan, toPlanResponse) }
