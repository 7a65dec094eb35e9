-- DropForeignKey
ALTER TABLE "billing_invoices" DROP CONSTRAINT "billing_invoices_reportId_fkey";

-- AlterTable
ALTER TABLE "billing_invoices" DROP COLUMN "reportId";

-- DropTable
DROP TABLE "analytics_revenue_reports";
